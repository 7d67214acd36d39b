# declares:
from importlib.metadata import entry_points


def processors():
    return {ep.name: ep for ep in entry_points(group="myplugin.processors")}
