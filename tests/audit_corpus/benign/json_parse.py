# declares:
import json
from pathlib import Path


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
