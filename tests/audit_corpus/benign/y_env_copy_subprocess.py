# declares: subprocess
import os
import subprocess
import sys


def run_tool(args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "mytool", *args], env=env, check=True)
