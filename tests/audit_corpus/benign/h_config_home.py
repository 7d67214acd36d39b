# declares: fs_read=~/.config/myplugin
from pathlib import Path
import tomllib


def settings():
    path = Path.home() / ".config" / "myplugin" / "settings.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}
