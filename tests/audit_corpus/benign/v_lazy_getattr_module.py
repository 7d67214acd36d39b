# declares:
import importlib

_LAZY = {"np": "numpy", "pd": "pandas"}


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(_LAZY[name])
    raise AttributeError(name)
