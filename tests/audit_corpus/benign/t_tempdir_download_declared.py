# declares: network=data.example.org:443
import tempfile
from pathlib import Path


def fetch(ctx, name):
    body = ctx.http.get(f"https://data.example.org/{name}.csv").content
    path = Path(tempfile.mkdtemp()) / f"{name}.csv"
    path.write_bytes(body)
    return path
