"""Secrets published: granted secret values never appear in anything the host writes.

A real HTTP server on 127.0.0.1 (started by the test) answers every request with an error
whose body echoes the request's ``Authorization`` header, as misconfigured proxies do. The
bundled github connector and a leaky plugin of our own then push the token at every exit:
error messages, log calls, stdout, stored records, a dead-lettered record and its reason, a
multi-line secret printed (and stored) one line at a time. The run document, report.html,
wiseflow.db and wiseflow.log must hold ``***`` instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_kit import document, project, wf

from wiseflow._policy._redact import Redactor

TOKEN = "ghp_S3cr3tT0kenValue0123456789abcdef"
#: A multi-line secret, PEM-like: printed or stored one line at a time.
PEM = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n0cMk7xQz6pPq1Lk3vVbWnT2Ye\n-----END KEY-----"


class _EchoHandler(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        auth = self.headers.get("Authorization", "")
        self.seen.append(auth)
        body = json.dumps(
            {"message": f"Validation Failed: you sent Authorization: {auth}", "echo": auth}
        ).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 whose error body echoes the Authorization header."""
    seen: list[str] = []
    handler = type("Echo", (_EchoHandler,), {"seen": seen})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    srv.shutdown()
    srv.server_close()
    t.join(5)


def _written(root: Path) -> bytes:
    """Every byte the host wrote under its data dir (database, WAL, logs) and the report."""
    out = b""
    for path in sorted((root / ".wiseflow").rglob("*")):
        if path.is_file() and "plugins" not in path.relative_to(root / ".wiseflow").parts:
            out += path.read_bytes()
    report = root / "report.html"
    return out + (report.read_bytes() if report.exists() else b"")


def _leaks(data: bytes, *secrets: str) -> list[str]:
    parts = [p for s in secrets for p in (s, *s.splitlines()) if len(p) >= 8 and "-----" not in p]
    return [p for p in parts if p.encode() in data or json.dumps(p)[1:-1].encode() in data]


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_github_token_echoed_by_the_server_is_never_published(
    tmp_path: Path, level: str, echo_server: tuple[str, list[str]]
) -> None:
    """The echoed Authorization header is in no run document, report, database or log."""
    base, seen = echo_server
    pipeline = f"""\
        [pipeline]
        name = "gh"
        [output]
        report = "report.html"
        [[sources]]
        plugin = "github"
        config = {{ repo = "o/r", api_url = "{base}" }}
    """
    root = project(tmp_path, {}, pipeline, level=level,
                   toml_extra="[plugins.github]\ngrant = { all = true }\n")  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=root, env={"GITHUB_TOKEN": TOKEN})
    assert seen == [f"Bearer {TOKEN}"]  # control: the server saw the token and echoed it
    assert res.returncode == 1, res.stderr
    doc = document(res)
    (err,) = doc["errors"]
    assert err["plugin"] == "github" and "HTTP 422" in err["message"]
    assert "***" in err["message"]
    assert _leaks(res.stdout + res.stderr, TOKEN) == []
    assert _leaks(_written(root), TOKEN) == []
    assert (root / "report.html").exists()


LEAKY_SOURCE = """\
import msgspec
from wiseflow import ConnectorPlugin, PluginError, Record

class Config(msgspec.Struct):
    prints: bool = True

class P(ConnectorPlugin):
    Config = Config

    def initialize(self, ctx):
        self.ctx = ctx

    def fetch(self, state):
        token, pem = self.ctx.secret("LEAK_TOKEN"), self.ctx.secret("LEAK_PEM")
        self.ctx.log.warning("token is %s", token)
        if self.ctx.config.prints:  # a worker's output (a trusted plugin owns the host's)
            print("stdout token", token, flush=True)
            print(pem, flush=True)                   # a secret over several lines
        yield Record(id="a", source=self.ctx.name, title="t " + token, data={"auth": token})
        first, second = pem.splitlines()[1:3]
        yield Record(id="b", source=self.ctx.name, title=first)    # split across records
        yield Record(id="c", source=self.ctx.name, title=second)
        yield Record(id="poison", source=self.ctx.name, text="body " + token)
        raise PluginError(f"upstream refused Bearer {token}", hint=f"try {token}")
"""

LEAKY_PROC = """\
from wiseflow import ProcessorPlugin, SkipRecord

class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.token = ctx.secret("LEAK_TOKEN")

    def process(self, batch):
        for r in batch:
            if r.id == "poison":
                raise SkipRecord(r.id, f"cannot use {self.token}")
        return batch
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_a_leaky_plugin_cannot_publish_granted_secrets(tmp_path: Path, level: str) -> None:
    """Logs, output, records, a dead letter, errors and the report show *** for the secrets."""
    perms = '[plugin.permissions]\nenv = ["LEAK_TOKEN", "LEAK_PEM"]\n'
    pipeline = """\
        [pipeline]
        name = "leak"
        [output]
        report = "report.html"
        [[sources]]
        plugin = "leaky"
        config = {{ prints = {prints} }}
        [[processors]]
        plugin = "leaky-proc"
    """
    root = project(
        tmp_path,
        {"leaky": ("connector", LEAKY_SOURCE), "leaky-proc": ("processor", LEAKY_PROC)},
        pipeline.format(prints="false" if level == "trusted" else "true"),
        level=level,
        toml_extra="[plugins.leaky]\ngrant = { all = true }\n"
        "[plugins.leaky-proc]\ngrant = { all = true }\n",
        manifest_extra={"leaky": perms, "leaky-proc": perms},
    )
    res = wf("run", "p.toml", "--json", cwd=root, env={"LEAK_TOKEN": TOKEN, "LEAK_PEM": PEM})
    assert res.returncode == 1, res.stderr
    doc = document(res)
    assert doc["records"]["stored"] == 3 and doc["records"]["dead_letters"] == 1
    # control: the plugin did use the secrets; what it wrote is there, masked
    assert "upstream refused Bearer ***" in doc["errors"][0]["message"]
    written = _written(root)
    assert b"t ***" in written and b"cannot use ***" in written
    assert _leaks(res.stdout + res.stderr, TOKEN, PEM) == []
    assert _leaks(written, TOKEN, PEM) == []
    env = {"LEAK_TOKEN": TOKEN, "LEAK_PEM": PEM}
    human = wf("run", "p.toml", "--full-refresh", cwd=root, env=env)
    assert b"upstream refused Bearer ***" in human.stderr
    assert _leaks(human.stdout + human.stderr + _written(root), TOKEN, PEM) == []


def test_redactor_masks_every_spelling_and_only_when_present() -> None:
    """Plain, JSON-escaped and per-line spellings are masked; clean rows are left as they are."""
    r = Redactor()
    assert r.text(f"x {TOKEN}") == f"x {TOKEN}"  # control: nothing known, nothing masked
    r.add(TOKEN)
    r.add('quo"te\\secret')
    r.add(PEM)
    r.add("abc")  # too short to mask without destroying data
    assert r.text(f"Bearer {TOKEN}.") == "Bearer ***."
    assert r.text(json.dumps({"k": 'quo"te\\secret'})) == '{"k": "***"}'
    assert r.text("line MIIBOgIBAAJBAKj34GkxFhD9 end") == "line *** end"
    assert r.text("abc") == "abc"
    rows = [("a", 1, "clean"), ("b", 2, None)]
    assert r.rows(rows) is rows
    assert r.rows([("a", f"t {TOKEN}")]) == [("a", "t ***")]
    r.add_authorization({"Authorization": "token other-credential-123"})
    assert r.text("sent other-credential-123") == "sent ***"


def test_a_secret_across_a_cut_or_a_read_boundary_is_masked_whole() -> None:
    """Output written in pieces, with the secret at the 2000-character cut, leaks no part."""
    import logging
    import os

    from wiseflow._policy._ratelimit import MAX_LINE, LogLimiter
    from wiseflow._sandbox._output import OutputPump

    redactor = Redactor()
    redactor.add(TOKEN)
    got: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record.getMessage())

    logger = logging.getLogger("wiseflow.test-pump-cut")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(Keep())
    r, w = os.pipe()
    os.set_blocking(r, False)
    pump = OutputPump(r, logger, limiter=LogLimiter(redactor=redactor))
    line = "x" * (MAX_LINE - 6) + TOKEN + "y" * 50 + "\n"
    half = MAX_LINE + 3  # the read boundary falls inside the token
    assert TOKEN[:6] in line[:MAX_LINE]  # control: cutting before masking publishes its head
    try:
        for piece in (line[:half], line[half:], "z" * 30_000 + TOKEN + "\n"):
            os.write(w, piece.encode())
            pump.drain()
        os.close(w)
        while pump.drain():
            pass
    finally:
        os.close(r)
    assert len(got) == 2  # one record per line of output, however it was read
    assert got[0].startswith("x" * (MAX_LINE - 6) + "***")
    for fragment in (TOKEN[:4], TOKEN[-4:], TOKEN[4:12]):
        assert not any(fragment in message for message in got)
