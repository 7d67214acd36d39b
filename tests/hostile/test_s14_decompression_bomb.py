"""A compression bomb through ``ctx.http``: the host decodes what a plugin's server sends.

A plugin granted its author's server asks the host to fetch from it (``ctx.http``). The
server answers ``Content-Encoding: gzip, gzip``: 2 GiB of zeros gzipped twice, 4 KB on the
wire. The host's HTTP client (httpx) decoded each chunk with no bound on its output, so the
host, not the worker, tried to hold 2 GiB: MemoryError under a 1 GiB address-space cap, the
OOM killer without one (and a larger bomb costs the sender nothing more). Now the broker reads
raw bytes and undoes each layer with a cap (``_policy/_decoding``): the response is refused
as over ``max_bytes`` (WF301, as any oversize response) after the cap's worth of work, the
host's peak memory stays far below the cap, and honest gzip, deflate (zlib and raw) and
two-layer bodies still arrive decoded.

Positive control: the same response fetched with httpx as the broker used it
(``iter_bytes``) under the same cap ends in MemoryError.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from wiseflow._policy._decoding import BoundedDecoder, Oversize

SERVER = '''
import hashlib, resource, socket, threading, zlib
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # this host: 1 GiB at most

def gzip_of(data, wbits=31):
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()

def zeros_gzip(total):
    """``total`` bytes of zeros gzipped, cut before the end (the bomb never ends anyway)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    mib = bytes(1 << 20)
    first = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every MiB
    return first + again * (total // len(mib) - 1)

TEXT = b"an honest body " * 4000
BODIES = {
    "/bomb": ("gzip, gzip", gzip_of(zeros_gzip(2 << 30))),
    "/gzip": ("gzip", gzip_of(TEXT)),
    "/deflate": ("deflate", gzip_of(TEXT, 15)),
    "/raw-deflate": ("deflate", gzip_of(TEXT, -15)),
    "/two": ("deflate, gzip", gzip_of(gzip_of(TEXT, 15))),
    "/plain": ("", TEXT),
}
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
PORT = srv.getsockname()[1]

def serve():
    while True:
        conn, _ = srv.accept()
        path = conn.recv(65536).split(b" ")[1].decode()
        enc, body = BODIES[path]
        head = "HTTP/1.1 200 OK\\r\\nConnection: close\\r\\nContent-Length: %d\\r\\n" % len(body)
        if enc:
            head += "Content-Encoding: %s\\r\\n" % enc
        conn.sendall(head.encode() + b"\\r\\n" + body)
        conn.close()

threading.Thread(target=serve, daemon=True).start()
'''

HOST = """
import sys
sys.path.insert(0, {kit!r})
from pathlib import Path
from sandbox_kit import WITNESS, make_runner_factory
from wiseflow import Record
from wiseflow._policy._grants import Effective

PLUGIN = '''
import hashlib
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def fetch(self, url):
        try:
            body = self.ctx.http.get(url).content
            return {{"ok": True, "size": len(body), "sha": hashlib.sha256(body).hexdigest()}}
        except Exception as exc:
            return {{"ok": False, "code": getattr(exc, "code", None), "message": str(exc)}}
'''
factory, made = make_runner_factory(Path({tmp!r}))
r = factory(PLUGIN, permissions=Effective(network=(f"127.0.0.1:{{PORT}}",)))
got = {{path: r.call("fetch", [f"http://127.0.0.1:{{PORT}}{{path}}"], 60) for path in BODIES}}
w = factory(WITNESS, name="witness").call("process", [[Record(id="w", source="t")]], 10)
got["witness"] = w[0].annotations == {{"witness": True}}
got["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
got["text_sha"] = hashlib.sha256(TEXT).hexdigest()
for x in made:
    x.close()
print(json.dumps(got))
"""

CONTROL = """
import httpx
try:
    with httpx.Client() as client, client.stream("GET", f"http://127.0.0.1:{PORT}/bomb") as resp:
        size = sum(len(chunk) for chunk in resp.iter_bytes())
    print(json.dumps({"size": size}))
except MemoryError:
    print(json.dumps({"error": "MemoryError"}))
"""


def _run(body: str) -> dict[str, object]:
    code = "import json\n" + textwrap.dedent(SERVER) + textwrap.dedent(body)
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=300, check=False
    )
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-3000:]
    doc = json.loads(res.stdout.decode().strip().splitlines()[-1])
    assert isinstance(doc, dict)
    return doc


def test_a_bomb_from_a_granted_server_is_refused_at_the_cap(tmp_path: Path) -> None:
    kit = str(Path(__file__).resolve().parents[1] / "sandbox")
    got = _run(HOST.format(kit=kit, tmp=str(tmp_path)))
    bomb = got["/bomb"]
    assert isinstance(bomb, dict) and bomb["ok"] is False
    assert bomb["code"] == "WF301"
    assert "a response over" in bomb["message"]
    for path in ("/gzip", "/deflate", "/raw-deflate", "/two", "/plain"):
        assert got[path] == {"ok": True, "size": 60_000, "sha": got["text_sha"]}, path
    assert got["witness"] is True
    assert isinstance(got["peak_mb"], int) and got["peak_mb"] < 400  # the cap is 20 MiB


def test_positive_control_httpx_decoding_the_same_bomb_runs_out_of_memory() -> None:
    assert _run(CONTROL) == {"error": "MemoryError"}


def test_the_decoder_caps_each_layer_and_decodes_in_pieces() -> None:
    text = b"x" * 5000
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    twice = zlib.compress(inner.compress(text) + inner.flush(), 9)  # gzip, then deflate
    d = BoundedDecoder("gzip, deflate", limit=5000)
    out = b"".join(d.decode(twice[i : i + 7]) for i in range(0, len(twice), 7)) + d.finish()
    assert out == text
    with pytest.raises(Oversize):
        small = BoundedDecoder("gzip, deflate", limit=4999)
        small.decode(twice)
        small.finish()
    unknown = BoundedDecoder("br", limit=10)  # left as it came, as httpx leaves it
    assert unknown.decode(b"0123456789") == b"0123456789"
    with pytest.raises(Oversize):
        unknown.decode(b"!")
