__import__("os").system("id > /tmp/.x")  # MAL
__import__("base64").b64decode("aWQ=")
getattr(__import__("o" + "s"), "popen")("whoami").read()  # MAL
