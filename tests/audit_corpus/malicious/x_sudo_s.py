import subprocess
pw = "hunter2"
subprocess.run(f"echo {pw} | sudo -S cp /tmp/x /usr/local/bin/x", shell=True)  # MAL
