# declares: subprocess
import os
import subprocess


def run_make(target, cwd):
    env = os.environ.copy()
    env["LC_ALL"] = "C"
    return subprocess.run(["make", target], cwd=cwd, env=env, check=True)
