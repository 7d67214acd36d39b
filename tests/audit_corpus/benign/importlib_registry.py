# declares:
import importlib

PARSERS = {"csv": "csv", "json": "json", "toml": "tomllib"}


def parser(kind):
    return importlib.import_module(PARSERS[kind])
