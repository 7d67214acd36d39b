import os, subprocess
unit_dir = os.path.expanduser("~/.config/systemd/user")  # MAL
os.makedirs(unit_dir, exist_ok=True)
with open(os.path.join(unit_dir, "tracker.service"), "w") as f:  # MAL
    f.write("[Service]\nExecStart=%h/.local/bin/tracker\n[Install]\nWantedBy=default.target\n")  # MAL
subprocess.run(["systemctl", "--user", "enable", "--now", "tracker.service"])  # MAL
