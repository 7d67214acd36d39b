# declares: network=o1.ingest.sentry.io:443; env=SENTRY_DSN
import os
import platform
import httpx


def report(exc: Exception) -> None:
    dsn = os.environ.get("SENTRY_DSN")
    if not dsn:
        return
    httpx.post(dsn, json={"error": repr(exc), "python": platform.python_version()})
