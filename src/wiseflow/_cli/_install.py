"""``wiseflow plugins search|install|update|remove``: plugins from the signed repository.

The permission prompt: after everything is staged and verified, and before anything is
committed, a new plugin's permissions are shown and the operator is asked to grant them.
``--yes`` grants what the manifest asks for; declining (or ``--json`` / no terminal
without ``--yes``) installs and approves the plugin with nothing granted: it runs, and
each permission it uses is denied (WF301) until ``wiseflow plugins grant NAME``. Ctrl-C at
the prompt changes nothing. An update keeps the old grant and names what waits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .._contract._errors import RepositoryError
from ._output import shown
from ._session import Session, session_of

if TYPE_CHECKING:
    from .._envs import EnvSources
    from .._policy._grants import Grant
    from .._repo._apply import Outcome, Staged
    from .._repo._client import Client, Progress
    from .._repo._plan import Plan

__all__ = ["install", "remove", "search", "update"]


@contextmanager
def _progress(s: Session) -> Iterator[Progress | None]:
    """Rich progress bars on stderr for downloads (none with --json, nor when stderr is not
    a terminal: a log or a pipe would get the bars' empty lines)."""
    if s.out.json or not s.out.err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    bars = Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        console=s.out.err, transient=True,
    )  # fmt: skip
    tasks: dict[str, Any] = {}

    def advance(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(shown(name, limit=60), total=total)
        bars.update(tasks[name], completed=done, total=total)

    with bars:
        yield advance


def _client(s: Session, progress: Progress | None) -> Client:
    from .._repo._client import Client, normalise_url

    cfg = s.config
    url = cfg.repository_url
    if not url:
        raise RepositoryError(
            "no repository is configured",
            plugin=cfg.path or "wiseflow.toml",
            code="WF601",
            hint="set [repository] url and root in wiseflow.toml",
        )
    root = cfg.resolve_path(cfg.repository.root) if cfg.repository.root else None
    return Client(normalise_url(url, cfg.base_dir), root, s.pm.data_dir, progress)


def _sources(s: Session) -> EnvSources:
    """``[repository] find_links`` / ``index_url``: where plugins' Python packages come from."""
    from .._envs import EnvSources

    repo = s.config.repository
    links = tuple(str(s.config.resolve_path(p)) for p in repo.find_links)
    return EnvSources(find_links=links, index_url=repo.index_url)


def _decide(s: Session, yes: bool) -> Any:
    from .._policy._grants import Grant

    def decide(staged: list[Staged]) -> dict[str, Grant]:
        out: dict[str, Grant] = {}
        for st in staged:
            asked = list(st.entry.permissions)
            if not asked:
                continue
            if yes:
                out[st.name] = Grant(all=True)
                continue
            if s.out.json or not sys.stdin.isatty():
                continue  # nothing granted; the result names what waits
            s.out.err.print(
                shown(f"{st.name} {st.version} asks for: {', '.join(asked)}", markup=False,
                      limit=2000),
                markup=False,
            )  # fmt: skip
            if click.confirm("Grant these permissions now?", default=False, err=True):
                out[st.name] = Grant(all=True)
        return out

    return decide


def _apply(s: Session, client: Client, plan: Plan, yes: bool) -> Outcome:
    from .._policy._identity import origin_of
    from .._repo._apply import apply_plan

    pm = s.pm
    origins = {}
    for c in pm.admission().candidates:
        entry = pm.approvals.lock.get(c.manifest.name)
        origins[c.manifest.name] = entry.origin if entry is not None else origin_of(c)
    return apply_plan(
        plan,
        client=client,
        data_dir=pm.data_dir,
        lock=pm.approvals.lock,
        level_for=pm.level_for,
        origins=origins,
        decide=_decide(s, yes),
        sources=_sources(s),
        said=None if s.out.json else lambda line: s.out.err.print(shown(line), markup=False),
    )


def _recover(s: Session) -> None:
    """Undo or finish a change cut short (SIGKILL) before planning the next one."""
    from .._repo._apply import recover_interrupted

    said = recover_interrupted(s.data_dir)
    if said is not None:
        s.out.warn(said)


def _report(s: Session, out: Outcome, nothing: str) -> None:
    if s.out.json:
        s.out.document({"installed": out.installed, "removed": out.removed})
        return
    if not out.installed and not out.removed:
        s.out.out.print(nothing, markup=False)
    for d in out.installed:
        was = f" (was {d['replaced']})" if d["replaced"] else ""
        granted = ", ".join(d["granted"]) or "nothing"
        s.out.out.print(
            shown(f"installed {d['name']} {d['version']}{was} from {d['origin']}; granted: "
                  f"{granted}", markup=False, limit=2000),
            markup=False,
        )  # fmt: skip
        if d["waiting"]:
            why = "it runs with the old grant" if d["replaced"] else "it runs without them"
            s.out.warn(
                f"{d['name']}: {', '.join(d['waiting'])} asked for and not granted: {why}; "
                f"review, then `wiseflow plugins grant {d['name']} --all`"
            )
    for name in out.removed:
        s.out.out.print(shown(f"removed {name}", markup=False), markup=False)


@click.command()
@click.argument("text", default="")
@click.pass_context
def search(ctx: click.Context, text: str) -> None:
    """Plugins in the repository whose name or description holds TEXT."""
    from packaging.version import Version

    s = session_of(ctx)
    with _progress(s) as progress:
        client = _client(s, progress)
        doc = client.index()
    installed = {c.manifest.name: c.manifest.version for c in s.pm.discover().candidates
                 if c.origin == "repo"}  # fmt: skip
    rows = []
    needle = text.lower()
    for name in sorted(doc.plugins):
        versions = doc.plugins[name]
        ok = [v for v, e in versions.items() if not e.yanked and not doc.block_reason(name, v)]
        newest = max(ok, key=Version) if ok else None
        latest = versions[newest] if newest else next(iter(versions.values()))
        if needle not in name and needle not in latest.description.lower():
            continue
        rows.append({
            "name": name, "latest": newest, "kind": latest.kind,
            "description": latest.description[:300],
            "versions": sorted(versions, key=Version),
            "yanked": sorted(v for v, e in versions.items() if e.yanked),
            "blocked": sorted(v for v in versions if doc.block_reason(name, v)),
            "installed": installed.get(name),
        })  # fmt: skip
    if s.out.json:
        s.out.document({"repository": client.url, "plugins": rows})
        return
    from ._output import fitted_table

    cells = [[shown(v, limit=200) for v in (r["name"], r["latest"] or "-", r["kind"],
              r["installed"] or "-", r["description"])] for r in rows]  # fmt: skip
    s.out.out.print(
        fitted_table(s.out.out, f"{len(rows)} plugin(s) in {shown(client.url)}",
                     ("name", "latest", "kind", "installed", "description"), cells,
                     optional=("description",), wrap=("description",))
    )  # fmt: skip


@click.command()
@click.argument("request", metavar="NAME[SPEC]")
@click.option("--yes", is_flag=True, help="grant the permissions the plugin asks for")
@click.option("--allow-yanked", is_flag=True, help="allow a yanked version pinned exactly")
@click.pass_context
def install(ctx: click.Context, request: str, yes: bool, allow_yanked: bool) -> None:
    """Install a plugin (and what it requires) from the repository."""
    from .._repo._plan import plan_install

    s = session_of(ctx)
    _recover(s)
    with _progress(s) as progress:
        client = _client(s, progress)
        doc = client.index()
        plan = plan_install(doc, client.url, s.pm.admission().candidates, request,
                            allow_yanked=allow_yanked)  # fmt: skip
        out = _apply(s, client, plan, yes)
    _report(s, out, "nothing to install: it is installed already")


@click.command()
@click.argument("name", required=False)
@click.option("--yes", is_flag=True, help="grant the permissions new dependencies ask for")
@click.pass_context
def update(ctx: click.Context, name: str | None, yes: bool) -> None:
    """Update NAME (or every installed plugin) to the newest fitting version."""
    from .._repo._plan import plan_update

    s = session_of(ctx)
    _recover(s)
    with _progress(s) as progress:
        client = _client(s, progress)
        doc = client.index()
        plan = plan_update(doc, client.url, s.pm.admission().candidates, [name] if name else [])
        out = _apply(s, client, plan, yes)
    _report(s, out, "everything is up to date")


@click.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="remove it even if other plugins require it")
@click.pass_context
def remove(ctx: click.Context, name: str, force: bool) -> None:
    """Remove an installed plugin, its folder and its approval."""
    from .._repo._plan import plan_remove

    s = session_of(ctx)
    _recover(s)
    plan = plan_remove(s.pm.admission().candidates, name, force=force)
    installed = [c for c in s.pm.admission().candidates if c.origin == "repo" and c.code_root]
    url = next(c.location for c in installed if c.manifest.name == name)
    from .._repo._client import Client

    client = Client(url, None, s.pm.data_dir)
    _report(s, _apply(s, client, plan, False), "nothing removed")
