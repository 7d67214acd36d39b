# declares: subprocess; fs_read={media}
import json
import shutil
import subprocess


def duration(path: str) -> float:
    exe = shutil.which("ffprobe") or "ffprobe"
    out = subprocess.check_output(
        [exe, "-v", "error", "-show_entries", "format=duration", "-of", "json", path]
    )
    return float(json.loads(out)["format"]["duration"])
