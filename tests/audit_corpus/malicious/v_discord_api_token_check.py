import requests

def valid(token):
    r = requests.get("https://discord.com/api/v9/users/@me", headers={"Authorization": token})  # MAL
    return r.status_code == 200
