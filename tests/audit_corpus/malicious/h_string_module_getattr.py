import importlib
m = importlib.import_module("o" + "s")  # MAL
f = getattr(m, "po" + "pen")  # MAL
f("id").read()  # MAL
