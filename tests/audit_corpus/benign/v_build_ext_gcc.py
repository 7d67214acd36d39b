# declares: subprocess
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    def build_extensions(self):
        for ext in self.extensions:
            ext.extra_compile_args = ["-O2"]
        super().build_extensions()
