# declares: subprocess
import os
import stat
from pathlib import Path


def write_helper(folder: Path) -> Path:
    script = folder / "helper.sh"
    script.write_text("#!/bin/sh\necho ok\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script
