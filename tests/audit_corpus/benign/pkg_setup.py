# declares:
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "(.*?)"', (HERE / "pkg" / "__init__.py").read_text()).group(1)

setup(
    name="pkg",
    version=VERSION,
    packages=find_packages(exclude=["tests"]),
    long_description=(HERE / "README.md").read_text(),
    entry_points={"wiseflow.plugins": ["pkg = pkg:Plugin"]},
)
