# declares:
import os
from pathlib import Path


def cache_root(ctx) -> Path:
    root = Path(ctx.data_dir) / "cache"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root
