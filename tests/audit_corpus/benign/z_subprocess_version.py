# declares: subprocess
import shutil
import subprocess


def pandoc_version():
    exe = shutil.which("pandoc")
    if exe is None:
        return None
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()[1]
