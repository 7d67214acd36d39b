# declares: env=GITHUB_TOKEN; network=api.github.com:443
import os


def headers():
    token = os.environ.get("GITHUB_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}
