# declares:
import json


def write_report(path, summary):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(summary, indent=2))
