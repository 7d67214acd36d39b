# declares:
from . import handlers


def handler_for(kind: str):
    return getattr(handlers, f"handle_{kind}", None)


def dispatch(obj, method, *args):
    return getattr(obj, method)(*args)
