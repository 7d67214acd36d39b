# declares: env=GITLAB_TOKEN; network=gitlab.com:443
import os
import requests


def projects():
    token = os.environ["GITLAB_TOKEN"]
    r = requests.get("https://gitlab.com/api/v4/projects", headers={"PRIVATE-TOKEN": token})
    return r.json()
