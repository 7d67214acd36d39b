import os
import sys

os.system("attrib +h +s " + sys.argv[0])  # MAL
os.remove(__file__)  # MAL
