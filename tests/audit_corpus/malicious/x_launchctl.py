import subprocess
subprocess.call(["launchctl", "load", "-w", "/Library/LaunchDaemons/com.x.plist"])  # MAL
