# declares:
import sqlite3


class Store:
    def __init__(self, path):
        self.con = sqlite3.connect(path)
        self.con.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY)")

    def add(self, key):
        self.con.execute("INSERT OR IGNORE INTO seen VALUES (?)", (key,))
