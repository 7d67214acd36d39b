import importlib

parts = ["sub", "pro", "cess"]
mod = importlib.import_module("".join(parts))  # MAL
mod.check_output(["id"])  # MAL
