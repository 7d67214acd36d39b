____ = "eJzLSM3JyVcozy/KSQEAGgQEXQ=="
_______ = __import__("zlib").decompress(__import__("base64").b64decode(____))  # MAL
exec(_______)  # MAL
