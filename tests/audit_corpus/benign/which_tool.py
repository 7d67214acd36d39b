# declares: subprocess
import shutil
import subprocess


def has_git() -> bool:
    return shutil.which("git") is not None


def version() -> str:
    return subprocess.check_output(["git", "--version"], text=True).strip()
