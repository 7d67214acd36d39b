import os
import subprocess
os.__getattribute__("system")("id")  # MAL
subprocess.__dict__["Popen"].__call__(["id"])  # MAL
getattr(__import__("subprocess"), "check_output")(["uname", "-a"])  # MAL
