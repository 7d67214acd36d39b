import base64
import os
cmd = base64.b64decode("L2Jpbi9zaA==").decode()  # MAL
os.posix_spawn(cmd, [cmd, "-c", "id"], os.environ)  # MAL
