# declares: subprocess
from subprocess import run, PIPE


def to_text(path):
    done = run(["pandoc", "-t", "plain", path], stdout=PIPE, stderr=PIPE, check=True)
    return done.stdout.decode("utf-8", "replace")
