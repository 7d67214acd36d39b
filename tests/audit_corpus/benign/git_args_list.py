# declares: subprocess
import subprocess


class Repo:
    def __init__(self, root):
        self.root = root

    def _git(self, *args):
        cmd = ["git", "-C", self.root, *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def branches(self):
        return self._git("branch", "--list").stdout.split()
