# declares: fs_read={root}
import hashlib
from pathlib import Path


def digest(path: Path) -> str:
    h = hashlib.blake2b()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()
