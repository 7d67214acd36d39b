"""SPEC §6 from outside: every command and option the SPEC lists exists, unknown ones are a
usage error (exit 2, one JSON document with --json), and the global options work in any
position.

Found from outside: a global option without its value (``wiseflow runs list --data-dir``,
``--config=``) said "No such option '--data-dir'" (or quietly used the default for an empty
value); it is now "Option '--data-dir' requires a value." (exit 2). ``--plugin-dir FILE``
warned that the file "does not exist"; it says it is not a folder. `run --port P` without
``--dashboard`` and ``--poll S`` without ``--watch`` were ignored silently (as
``--reapprove-dev`` without ``--watch`` is not): usage errors now.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from outside import wf

#: Every command of SPEC §6, §12-§15 and the options it documents for it.
COMMANDS = {
    "run": ["--report", "--full-refresh", "--watch", "--dashboard", "--port", "--metrics-port"],
    "plugins list": ["--kind"],
    "plugins info": [],
    "plugins check": [],
    "plugins audit": [],
    "plugins grant": ["--all", "--network"],
    "plugins revoke": [],
    "plugins enable": [],
    "plugins disable": [],
    "plugins new": ["--kind", "--dir"],
    "plugins search": [],
    "plugins install": ["--allow-yanked"],
    "plugins update": [],
    "plugins remove": ["--force"],
    "plugins test": ["--level"],
    "plugins migrate": [],
    "runs list": [],
    "runs show": [],
    "dead-letters list": ["--run"],
    "dead-letters replay": ["--run", "--plugin"],
    "repo init": ["--keys"],
    "repo add": [],
    "repo publish": ["--keys", "--expires"],
    "repo yank": ["--reason"],
    "repo block": ["--reason"],
    "doctor": [],
    "top": [],
    "dashboard": ["--port", "--host", "--allow-remote"],
}


def test_c3_every_documented_command_and_option_exists(tmp_path: Path) -> None:
    """One process: click's help of each command, in-process (`--help` of each is a usage
    page with exit 0; the options listed there are those the parser accepts)."""
    script = (
        "import json, sys\n"
        "import click\n"
        "from wiseflow._cli import _register, cli\n"
        "_register()\n"
        "found = {}\n"
        "for line in json.loads(sys.argv[1]):\n"
        "    cmd, ctx = cli, click.Context(cli)\n"
        "    for word in line.split():\n"
        "        cmd = cmd.get_command(ctx, word)\n"
        "        ctx = click.Context(cmd, parent=ctx)\n"
        "    found[line] = sorted(o for p in cmd.params for o in p.opts if o.startswith('--'))\n"
        "print(json.dumps(found))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(COMMANDS))],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for line, options in COMMANDS.items():
        assert set(options) <= set(found[line]), (line, found[line])


@pytest.mark.parametrize(
    "argv",
    [
        ("bogus",),
        ("plugins", "bogus"),
        ("run", "--bogus", "p.toml"),
        ("plugins", "list", "--kind", "sink"),
        ("runs", "show", "abc"),
        ("runs", "list", "--data-dir"),  # a global option without its value
        ("--config=", "doctor"),
        ("run", "p.toml", "--port", "9999"),  # an option for another one, never ignored
        ("run", "p.toml", "--poll", "1"),
    ],
)
def test_c3_usage_errors_exit_2_with_one_document(tmp_path: Path, argv: tuple[str, ...]) -> None:
    done = wf("--json", *argv, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "usage" and error["message"] and error["hint"], error
    assert "No such option '--data-dir'" not in error["message"], error
    if "--data-dir" in argv or "--config=" in argv:
        assert "requires a value" in error["message"], error
    if "--port" in argv or "--poll" in argv:
        assert "needs --dashboard" in error["message"] or "needs --watch" in error["message"]
    text = wf(*argv, cwd=tmp_path)
    assert text.returncode == 2 and text.stdout == "" and "Error:" in text.stderr, text


def test_c3_global_options_in_any_position(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    data.mkdir()
    for argv in (
        ("--data-dir", str(data), "--json", "runs", "list"),
        ("runs", "--json", "--data-dir", str(data), "list"),
        ("runs", "list", f"--data-dir={data}", "--json"),
    ):
        done = wf(*argv, cwd=tmp_path)
        assert done.returncode == 0 and json.loads(done.stdout) == {"runs": []}, (argv, done)
    assert not (tmp_path / ".wiseflow").exists()  # the default data dir was never used


def test_c3_a_plugin_dir_that_is_a_file_is_called_so(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text("[pipeline]\n")
    done = wf("--plugin-dir", "p.toml", "plugins", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "is not a folder" in done.stderr and "does not exist" not in done.stderr, done.stderr
