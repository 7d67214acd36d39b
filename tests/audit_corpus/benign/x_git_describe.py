# declares: subprocess
import subprocess


def describe(repo):
    return subprocess.check_output(["git", "-C", repo, "describe", "--tags"], text=True).strip()
