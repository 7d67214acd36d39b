# declares: network=127.0.0.1:8080
import urllib.request


def healthy() -> bool:
    with urllib.request.urlopen("http://127.0.0.1:8080/health", timeout=2) as r:
        return r.status == 200
