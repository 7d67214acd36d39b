import importlib.util
spec = importlib.util.spec_from_file_location("m", "/tmp/.cache/m.py")  # MAL
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)  # MAL
