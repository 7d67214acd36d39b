# declares: network=models.example.org:443
from pathlib import Path


def ensure_model(ctx) -> Path:
    target = Path(ctx.data_dir) / "model.bin"
    if not target.exists():
        target.write_bytes(ctx.http.get("https://models.example.org/v1/model.bin").content)
    return target
