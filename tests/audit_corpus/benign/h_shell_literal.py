# declares: subprocess
import subprocess


def disk_usage(path):
    out = subprocess.run(["du", "-sh", path], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]
