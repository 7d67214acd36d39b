# declares: subprocess
import subprocess as sp

GIT = "git"


def head(path: str) -> str:
    return sp.check_output([GIT, "rev-parse", "HEAD"], cwd=path, text=True).strip()
