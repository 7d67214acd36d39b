import sys
import os
run = sys.modules["os"].__dict__["system"]  # MAL
run("touch /tmp/pwn")  # MAL
