# declares:
import sqlite3


def counts(db_path):
    con = sqlite3.connect(db_path)
    try:
        return con.execute("SELECT kind, COUNT(*) FROM records GROUP BY kind").fetchall()
    finally:
        con.close()
