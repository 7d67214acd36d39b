# declares: fs_read={root}
import gzip
from pathlib import Path


def entries(root: Path):
    for path in sorted(root.glob("*/changelog.Debian.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            yield path.parent.name, fh.read()
