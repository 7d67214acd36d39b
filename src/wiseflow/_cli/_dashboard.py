"""``wiseflow dashboard``: the web dashboard of a data dir; ``run --dashboard`` and
``run --metrics-port``: the same views served from a run (SPEC §15).

The CLI only parses and prints: what the dashboard shows and does is ``wiseflow._dashboard``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._contract._errors import WiseflowError
from ._session import session_of
from ._text import terminal_safe

if TYPE_CHECKING:
    from .._dashboard import DashboardServer
    from .._run._run import Stages

__all__ = ["live_views", "register"]


def register(cli: click.Group) -> None:
    cli.add_command(dashboard)


def _missing_extra(exc: ImportError) -> WiseflowError:
    return WiseflowError(
        f"the dashboard needs the `dashboard` extra ({exc.name} is not installed)",
        code="WF000",
        hint="pip install 'wiseflow[dashboard]'",
    )


def open_server(
    data_dir: Path,
    *,
    host: str,
    port: int,
    allow_remote: bool,
    pipelines: dict[str, str],
    config: str | None,
) -> DashboardServer:
    """The dashboard server, or the usage error (exit 2) the operator must see."""
    try:
        from .._dashboard import DashboardServer, Sources, is_loopback
    except ImportError as exc:
        raise _missing_extra(exc) from None
    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--host {host} is not a loopback address: the dashboard would be reachable from "
            "other machines; pass --allow-remote to accept that (every request then needs the "
            "session token)"
        )
    sources = Sources(data_dir, pipelines=pipelines, config=config)
    try:
        return DashboardServer(sources, host=host, port=port, remote=not is_loopback(host))
    except OSError as exc:
        raise click.BadParameter(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", param_hint="--port"
        ) from None


def _pipelines(files: tuple[Path, ...]) -> dict[str, str]:
    from .._pipeline import load_pipeline

    found = {}
    for f in files:
        found[load_pipeline(f).name] = str(f.resolve())
    return found


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--allow-remote", is_flag=True, help="allow a --host other machines can reach")
@click.option(
    "--pipeline",
    "pipeline_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="pipeline file whose dead letters the page may replay (repeatable)",
)
@click.pass_context
def dashboard(
    ctx: click.Context, port: int, host: str, allow_remote: bool, pipeline_files: tuple[Path, ...]
) -> None:
    """Web dashboard: live runs of this data dir, past runs, dead letters (Ctrl-C stops)."""
    s = session_of(ctx)
    server = open_server(
        s.data_dir, host=host, port=port, allow_remote=allow_remote,
        pipelines=_pipelines(pipeline_files), config=s.opts.config,
    )  # fmt: skip
    if s.out.json:
        s.out.document({"url": server.url, "host": host, "port": server.port})
    else:
        s.out.out.print(terminal_safe(f"wiseflow dashboard: {server.url}"), markup=False)
        s.out.err.print("(the token in the URL allows changes; Ctrl-C stops)", markup=False)
    server.serve()


@contextmanager
def live_views(
    s: Any, checked: Stages, *, dashboard: bool, port: int, metrics_port: int | None
) -> Iterator[None]:
    """Serve the dashboard and/or Prometheus from a run while it runs (URLs on stderr)."""
    with ExitStack() as stack:
        if dashboard:
            path = checked.pipeline.path
            server = open_server(
                s.data_dir, host="127.0.0.1", port=port, allow_remote=False,
                pipelines={checked.pipeline.name: str(Path(path).resolve())} if path else {},
                config=s.opts.config,
            )  # fmt: skip
            stack.enter_context(server)
            s.out.err.print(terminal_safe(f"dashboard: {server.url}"), markup=False)
        if metrics_port is not None:
            try:
                from .._host._metering import serve_prometheus

                prom = serve_prometheus(checked.collector.documents, metrics_port, documents=True)
            except ImportError as exc:
                raise _missing_extra(exc) from None
            except OSError as exc:
                raise click.BadParameter(
                    f"cannot listen on 127.0.0.1:{metrics_port}: {exc.strerror or exc}",
                    param_hint="--metrics-port",
                ) from None
            stack.callback(prom.close)
            s.out.err.print(f"metrics: http://127.0.0.1:{prom.port}/metrics", markup=False)
        yield
