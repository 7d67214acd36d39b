"""The ``wiseflow`` command line.

Options every command takes, anywhere on the line: ``--config PATH``, ``--plugin-dir DIR``
(repeatable), ``--data-dir DIR``, ``--json``, ``--debug``.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from ._prewarm import prewarm_for_program

prewarm_for_program()  # `wiseflow run`: the zygote boots while the modules below load

import click  # noqa: E402

from .._contract._errors import WiseflowError, WiseflowWarning  # noqa: E402
from ._globals import split_global  # noqa: E402
from ._output import Output  # noqa: E402
from ._session import Session  # noqa: E402

__all__ = ["cli", "main", "split_global"]


@click.group(
    name="wiseflow",
    help=(
        "Secure, fast plugin pipelines.\n\nGlobal options (any position): --config PATH, "
        "--plugin-dir DIR (repeatable), --data-dir DIR, --json, --debug."
    ),
)
@click.version_option(package_name="wiseflow", prog_name="wiseflow", message="%(prog)s %(version)s")
def cli() -> None:
    pass


def _register() -> None:
    from . import (
        _approve,
        _dashboard,
        _doctor,
        _install,
        _migrate,
        _plugins,
        _repo,
        _run,
        _runs,
        _test,
        _top,
    )

    cli.add_command(_plugins.plugins)
    _plugins.plugins.add_command(_approve.grant)
    _plugins.plugins.add_command(_approve.revoke)
    _plugins.plugins.add_command(_test.test)
    _plugins.plugins.add_command(_migrate.migrate)
    for command in (_install.search, _install.install, _install.update, _install.remove):
        _plugins.plugins.add_command(command)
    cli.add_command(_repo.repo)
    _run.register(cli)
    _runs.register(cli)
    _doctor.register(cli)
    _top.register(cli)
    _dashboard.register(cli)


def _route_warnings(out: Output) -> None:
    """Print wiseflow's warnings (weaker sandbox, soft quota) as `warning: ...` lines."""
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, WiseflowWarning):
            out.warn(str(message))
        else:
            original(message, category, *args, **kw)

    warnings.showwarning = show


def _safe_console_logs() -> None:
    """Log lines on the terminal: secrets masked, one escaped line per message."""
    from .._policy._redact import RedactingFilter
    from ._text import SafeFormatter

    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        fmt = handler.formatter
        if not isinstance(fmt, SafeFormatter):
            pattern = fmt._fmt if fmt is not None else None
            handler.setFormatter(SafeFormatter(pattern or "%(levelname)s %(name)s: %(message)s"))


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; exits with the codes of SPEC §6."""
    raw = list(sys.argv[1:] if argv is None else argv)
    opts, rest = split_global(raw)
    out = Output(json=opts.json, debug=opts.debug)
    if opts.json:  # stdout holds the document alone, whatever plugin code prints
        out.claim_stdout()
    logging.basicConfig(
        level=logging.DEBUG if opts.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _safe_console_logs()
    session = Session(opts, out)
    _route_warnings(out)
    _register()
    code = 0
    if opts.json and rest[:1] == ["--version"]:  # one JSON document, as for every command
        from importlib.metadata import version

        out.document({"name": "wiseflow", "version": version("wiseflow")})
        sys.exit(0)
    try:
        if opts.missing_value:
            raise click.UsageError(f"Option '{opts.missing_value}' requires a value.")
        result = cli.main(args=rest, prog_name="wiseflow", standalone_mode=False, obj=session)
        code = result if isinstance(result, int) else 0
    except WiseflowError as exc:
        if opts.debug:
            logging.getLogger("wiseflow").exception("failed")
        code = out.error(exc)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        if opts.json:
            out.document(
                {"error": {"code": "usage", "message": exc.format_message(), "plugin": None,
                           "hint": "run with --help"}}
            )  # fmt: skip
        else:
            exc.show()
        code = 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        code = 130
    except Exception as exc:
        if opts.debug:
            raise
        code = out.error(
            WiseflowError(
                f"internal error: {type(exc).__name__}: {exc}",
                code="WF000",
                hint="run again with --debug for the traceback, and report it",
            )
        )
    finally:
        try:
            session.close()
        except Exception:
            logging.getLogger("wiseflow").exception("closing plugins failed")
    sys.exit(code)
