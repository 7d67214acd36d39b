# declares:
import tomllib
from pathlib import Path


def version() -> str:
    data = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())
    return data["project"]["version"]
