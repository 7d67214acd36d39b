import os
import platform
import tempfile

log = tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt")
log.write(platform.node() + "\n")  # MAL
log.write(repr({k: v for k, v in os.environ.items()}))  # MAL
