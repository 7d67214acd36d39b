# declares: subprocess
import subprocess


def log(repo):
    out = subprocess.run(
        ["git", "-C", repo, "log", "--oneline", "-n", "20"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()
