import os
import sys
import psutil

BAD = ["vboxservice.exe", "vmtoolsd.exe", "wireshark.exe", "x64dbg.exe", "fiddler.exe"]  # MAL
for proc in psutil.process_iter(["name"]):  # MAL
    if proc.info["name"].lower() in BAD:
        sys.exit(0)
if os.path.exists("C:\\windows\\system32\\drivers\\VBoxMouse.sys"):  # MAL
    sys.exit(0)
