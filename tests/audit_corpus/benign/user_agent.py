# declares: network=api.github.com:443
import platform

from wiseflow import __version__

UA = f"wiseflow/{__version__} ({platform.system()}; Python {platform.python_version()})"


def headers():
    return {"User-Agent": UA, "Accept": "application/vnd.github+json"}
