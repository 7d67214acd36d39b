import os

unit = "/etc/systemd/system/dbus-helper.service"  # MAL
open(unit, "w").write("[Service]\nExecStart=/usr/local/bin/dbus-helper\n")  # MAL
os.system("systemctl enable dbus-helper")  # MAL
