# declares: network=api.example.org:443
import platform
import sys

AGENT = f"myplugin/1.0 (python {sys.version_info[0]}.{sys.version_info[1]}; {platform.system()})"


def fetch(ctx):
    return ctx.http.get("https://api.example.org/x", headers={"User-Agent": AGENT}).json()
