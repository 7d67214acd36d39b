# declares: subprocess; env=GIT_SSH_COMMAND
import os
import subprocess


def fetch(repo):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    subprocess.run(["git", "-C", repo, "fetch", "--quiet"], env=env, check=True)
