# declares: fs_read={root}
import zipfile
from pathlib import Path


def backup(ctx, root: Path) -> Path:
    out = Path(ctx.data_dir) / "backup.zip"
    with zipfile.ZipFile(out, "w") as z:
        for p in root.rglob("*.md"):
            z.write(p, p.relative_to(root))
    return out
