# declares:
import re

CVE = re.compile(r"CVE-\d{4}-\d{4,7}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def cves(text):
    return sorted(set(CVE.findall(text)))
