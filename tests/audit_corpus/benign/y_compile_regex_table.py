# declares:
import re

RULES = {name: re.compile(rx) for name, rx in {"cve": r"CVE-\d+-\d+", "ip": r"\d+\.\d+\.\d+\.\d+"}.items()}
