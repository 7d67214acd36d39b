# declares: subprocess
import subprocess
import sys


def release():
    subprocess.check_call([sys.executable, "-m", "build"])
    subprocess.check_call(["twine", "upload", "dist/*"])
