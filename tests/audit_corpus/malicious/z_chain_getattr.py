b = __import__("bui" + "ltins")  # MAL
e = getattr(b, "ev" + "al")  # MAL
e("__import__('os').system('id')")  # MAL
