# declares: subprocess
import json
import subprocess


def containers():
    out = subprocess.check_output(["docker", "ps", "--format", "{{json .}}"], text=True)
    return [json.loads(line) for line in out.splitlines()]
