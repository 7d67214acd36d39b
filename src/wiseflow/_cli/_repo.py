"""``wiseflow repo init|add|publish|yank|block DIR ...``: the publisher's side (SPEC §14)."""

from __future__ import annotations

from pathlib import Path

import click

from ._output import shown
from ._session import session_of

__all__ = ["repo"]

_DIR = click.Path(path_type=Path, file_okay=False)


@click.group(name="repo")
def repo() -> None:
    """Publish plugins: a signed (TUF) repository served as static files."""


@repo.command()
@click.argument("directory", type=_DIR)
@click.option("--keys", type=_DIR, help="where the private keys go (default: DIR.keys)")
@click.pass_context
def init(ctx: click.Context, directory: Path, keys: Path | None) -> None:
    """Create the served folder DIR and one Ed25519 key per role (outside DIR)."""
    from .._repo._publish import init_repo, keys_dir

    s = session_of(ctx)
    root = init_repo(directory, keys)
    kdir = keys_dir(directory, keys)
    if s.out.json:
        s.out.document({"repository": str(directory), "root": str(root), "keys": str(kdir)})
        return
    s.out.out.print(
        f"repository created in {directory}; private keys in {kdir} (keep them secret)\n"
        f"operators pin this root: {root}  ([repository] root in wiseflow.toml)",
        markup=False,
    )


@repo.command()
@click.argument("directory", type=_DIR)
@click.argument(
    "wheels", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.pass_context
def add(ctx: click.Context, directory: Path, wheels: tuple[Path, ...]) -> None:
    """Add plugin wheels to the draft; `repo publish` signs them."""
    from .._repo._publish import add_wheels

    s = session_of(ctx)
    added = add_wheels(directory, list(wheels))
    if s.out.json:
        s.out.document({"added": [{"name": n, "version": v} for n, v in added]})
        return
    for n, v in added:
        s.out.out.print(shown(f"added {n} {v} (run `wiseflow repo publish` to sign)"), markup=False)


@repo.command()
@click.argument("directory", type=_DIR)
@click.option("--keys", type=_DIR, help="the folder of the private keys (default: DIR.keys)")
@click.option(
    "--expires",
    type=click.FloatRange(min=0.01, max=3650),
    default=7.0,
    show_default=True,
    help="days until clients refuse the metadata (freeze)",
)
@click.pass_context
def publish(ctx: click.Context, directory: Path, keys: Path | None, expires: float) -> None:
    """Sign the draft: new targets, snapshot and timestamp metadata."""
    from .._repo._publish import publish as do_publish

    s = session_of(ctx)
    version = do_publish(directory, keys, expires)
    if s.out.json:
        s.out.document({"repository": str(directory), "targets_version": version})
    else:
        s.out.out.print(f"published {directory} (targets version {version})", markup=False)


@repo.command()
@click.argument("directory", type=_DIR)
@click.argument("name")
@click.argument("version")
@click.option("--reason", required=True, help="why (shown to operators)")
@click.pass_context
def yank(ctx: click.Context, directory: Path, name: str, version: str, reason: str) -> None:
    """Yank a version: resolution never chooses it (publish to take effect)."""
    from .._repo._publish import yank as do_yank

    s = session_of(ctx)
    do_yank(directory, name, version, reason)
    if s.out.json:
        s.out.document({"yanked": {"name": name, "version": version, "reason": reason}})
    else:
        s.out.out.print(
            shown(f"yanked {name} {version} (run `wiseflow repo publish`)"), markup=False
        )


@repo.command()
@click.argument("directory", type=_DIR)
@click.argument("name")
@click.argument("spec", required=False, default="")
@click.option("--reason", required=True, help="why (shown where it is installed)")
@click.pass_context
def block(ctx: click.Context, directory: Path, name: str, spec: str, reason: str) -> None:
    """Blocklist NAME (versions within SPEC, default all): never installed, and disabled
    where installed (publish to take effect)."""
    from .._repo._publish import block as do_block

    s = session_of(ctx)
    do_block(directory, name, spec, reason)
    if s.out.json:
        s.out.document({"blocked": {"name": name, "spec": spec, "reason": reason}})
    else:
        what = f"{name} {spec}".strip()
        s.out.out.print(shown(f"blocked {what} (run `wiseflow repo publish`)"), markup=False)
