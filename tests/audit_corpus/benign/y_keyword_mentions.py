# declares:
DESCRIPTION = """Counts mentions of tools in changelogs: curl, wget, bash, powershell, cron."""
STOP = {"the", "and", "password", "token", "cookie", "wallet"}
