# declares:
import json
from pathlib import Path


def load_cache(ctx):
    path = Path(ctx.data_dir) / "cache.json"
    return json.loads(path.read_text()) if path.exists() else {}
