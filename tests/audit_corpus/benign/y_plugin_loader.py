# declares:
import importlib
import pkgutil

from . import parsers


def load_all():
    found = {}
    for info in pkgutil.iter_modules(parsers.__path__):
        found[info.name] = importlib.import_module(f"{parsers.__name__}.{info.name}")
    return found
