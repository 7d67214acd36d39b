# declares:
import types


def options(**kw):
    return types.SimpleNamespace(**kw)
