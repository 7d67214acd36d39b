import subprocess
info = subprocess.getoutput("cat /etc/shadow")  # MAL
