# declares: network=inventory.example.org:443; fs_read={root}
import hashlib
from pathlib import Path


def report(ctx, root: Path):
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.glob("*.deb")}
    ctx.http.post("https://inventory.example.org/api/digests", json=digests)
