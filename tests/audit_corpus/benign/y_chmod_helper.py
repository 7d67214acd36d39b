# declares: subprocess
import os
import subprocess
import tempfile


def run_script(body: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as fh:
        fh.write(body)
    os.chmod(fh.name, 0o700)
    return subprocess.run(["sh", fh.name], capture_output=True, text=True).stdout
