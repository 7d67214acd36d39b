# declares:
import json
import tempfile
from pathlib import Path


def checkpoint(state: dict, folder: Path) -> Path:
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".json") as fh:
        json.dump(state, fh)
    return Path(fh.name)
