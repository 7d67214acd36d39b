# declares:
import os
from setuptools import setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "pkg", "__init__.py")) as f:
    for line in f:
        if line.startswith("__version__"):
            version = eval(line.split("=")[1])
            break

setup(name="pkg", version=version)
