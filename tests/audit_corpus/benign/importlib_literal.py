# declares:
import importlib


def yaml_or_json():
    try:
        return importlib.import_module("yaml")
    except ImportError:
        return importlib.import_module("json")
