# declares: network=hooks.example.com:443; env=REPORT_URL
import os
import httpx


def publish(summary: dict) -> None:
    url = os.environ.get("REPORT_URL", "https://hooks.example.com/report")
    httpx.post(url, json=summary, timeout=5)
