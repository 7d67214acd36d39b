# declares:
import ast
import re
from pathlib import Path

_VERSION = re.compile(r"__version__\s*=\s*(.+)")


def version(root: Path) -> str:
    match = _VERSION.search((root / "pkg" / "__init__.py").read_text())
    return str(ast.literal_eval(match.group(1))) if match else "0"
