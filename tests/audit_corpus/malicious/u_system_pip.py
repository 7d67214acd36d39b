from os import system
from sys import executable

system(f'"{executable}" -m pip install pycryptodome pywin32 -q')  # MAL
