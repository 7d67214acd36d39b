# declares:
import re
from pathlib import Path

from setuptools import find_packages, setup

text = (Path(__file__).parent / "mypkg" / "__init__.py").read_text()
version = re.search(r'__version__ = "([^"]+)"', text).group(1)

setup(name="mypkg", version=version, packages=find_packages())
