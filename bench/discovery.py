"""Discovery benchmark: listing N installed plugins, as whole processes.

Generates N distributions (dist-info + package + plugin.toml; each plugin module imports
wiseflow, as real plugins do) in a temporary site directory, then times, each as a fresh
process with ``PYTHONPATH`` set to that directory:

- ``importlib``: ``importlib.metadata.entry_points(group="wiseflow.plugins")`` (list only)
- ``stevedore``: ``ExtensionManager("wiseflow.plugins", invoke_on_load=False)`` (imports each)
- ``wf cold``: wiseflow listing with an empty discovery cache
- ``wf cached``: wiseflow listing with a warm discovery cache
- ``python`` / ``wf import``: the floor (interpreter start; importing wiseflow's modules)

The wiseflow listing is ``discover(cache_dir=...)`` + ``resolve()`` printed as JSON, or with
``--cli`` the real ``wiseflow plugins list --json``. Medians over ``--repeat`` runs.

Usage: python bench/discovery.py [--sizes 10 100 1000] [--repeat 7] [--cli]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
WISEFLOW = str(ROOT / ".venv" / "bin" / "wiseflow")

DRIVER = """
import sys
import msgspec
from wiseflow._discovery import discover
from wiseflow._resolve import resolve
found = discover(cache_dir=sys.argv[1])
res = resolve(found.candidates)
rows = [{"name": c.name, "version": c.version, "kind": c.manifest.kind, "origin": c.origin,
         "selected": res.selected.get(c.name) is c,
         "problems": [p.code for p in found.problems + res.problems if p.plugin == c.name]}
        for c in found.candidates]
sys.stdout.buffer.write(msgspec.json.encode({"plugins": rows, "cache": found.stats.cache}))
"""
IMPORT_ONLY = "import msgspec, wiseflow._discovery, wiseflow._resolve"
IMPORTLIB = "import importlib.metadata as m; print(len(m.entry_points(group='wiseflow.plugins')))"
STEVEDORE = (
    "from stevedore import ExtensionManager; "
    "m = ExtensionManager('wiseflow.plugins', invoke_on_load=False); print(len(m.extensions))"
)
MANIFEST = """[plugin]
name = "{name}"
version = "1.{i}.0"
kind = "processor"
entry = "{pkg}:Plugin"
api = ">=1,<2"
description = "benchmark plugin {i}"

[plugin.permissions]
network = []

[plugin.resources]
memory_mb = 128
"""
CODE = """from wiseflow import ProcessorPlugin


class Plugin(ProcessorPlugin):
    def process(self, batch):
        return batch
"""


def make_site(site: Path, n: int) -> None:
    """N one-plugin distributions, with mtimes an hour old like a real install."""
    for i in range(n):
        name, pkg = f"bench-{i}", f"wfbench_{i}"
        (site / pkg).mkdir(parents=True)
        (site / pkg / "__init__.py").write_text(CODE)
        (site / pkg / "plugin.toml").write_text(MANIFEST.format(name=name, pkg=pkg, i=i))
        meta = site / f"wfbench_{i}-1.{i}.0.dist-info"
        meta.mkdir()
        (meta / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: wfbench-{i}\nVersion: 1.{i}.0\n"
        )
        (meta / "entry_points.txt").write_text(f"[wiseflow.plugins]\n{name} = {pkg}:Plugin\n")
        (meta / "RECORD").write_text(
            f"{pkg}/__init__.py,,\n{pkg}/plugin.toml,,\n{meta.name}/METADATA,,\n"
        )
    past = time.time() - 3600
    for dirpath, _dirs, files in os.walk(site):
        for f in files:
            os.utime(os.path.join(dirpath, f), (past, past))


def timed(argv: list[str], env: dict[str, str], cwd: Path, before: object = None) -> float:
    if callable(before):
        before()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def median(
    argv: list[str], env: dict[str, str], cwd: Path, repeat: int, before: object = None
) -> float:
    timed(argv, env, cwd, before)  # warm the OS file cache (and the tool's own cache)
    return statistics.median(timed(argv, env, cwd, before) for _ in range(repeat))


def bench(n: int, repeat: int, cli: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        base = Path(tmp)
        site = base / "site"
        make_site(site, n)
        cache = base / "data" / "cache"
        env = dict(os.environ, PYTHONPATH=str(site), XDG_CACHE_HOME=str(base / "xdg"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if cli:
            listing = [WISEFLOW, "plugins", "list", "--json", "--data-dir", str(base / "data")]
        else:
            listing = [PYTHON, "-c", DRIVER, str(cache)]
        out = {
            "python": median([PYTHON, "-c", "pass"], env, base, repeat),
            "wf import": median([PYTHON, "-c", IMPORT_ONLY], env, base, repeat),
            "importlib": median([PYTHON, "-c", IMPORTLIB], env, base, repeat),
            "stevedore": median([PYTHON, "-c", STEVEDORE], env, base, repeat),
            "wf cold": median(listing, env, base, repeat, lambda: shutil.rmtree(cache, True)),
            "wf cached": median(listing, env, base, repeat),
        }
        check = subprocess.run(listing, env=env, cwd=base, capture_output=True, text=True)
        if check.stdout.count('"bench-') < n:
            raise SystemExit(f"listing did not show all {n} plugins")
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cli", action="store_true", help="time `wiseflow plugins list --json`")
    args = ap.parse_args()
    what = "wiseflow plugins list --json" if args.cli else "discover()+resolve() driver"
    print(f"listing = {what}; medians of {args.repeat} runs; times in ms (whole processes)")
    cols = ["python", "wf import", "importlib", "stevedore", "wf cold", "wf cached"]
    print(
        f"{'plugins':>8} "
        + " ".join(f"{c:>10}" for c in cols)
        + f" {'cached/stev':>12} {'cold/stev':>10} {'cached/imp':>11}"
    )
    results = {}
    for n in args.sizes:
        r = bench(n, args.repeat, args.cli)
        results[n] = r
        print(
            f"{n:>8} "
            + " ".join(f"{1000 * r[c]:>10.1f}" for c in cols)
            + f" {r['wf cached'] / r['stevedore']:>12.2f} {r['wf cold'] / r['stevedore']:>10.2f}"
            + f" {r['wf cached'] / r['importlib']:>11.2f}",
            flush=True,
        )
    if len(results) > 1:
        lo, hi = min(results), max(results)
        print("\ncost per added plugin (ms), from the smallest to the largest size:")
        for c in cols[2:]:
            per = 1000 * (results[hi][c] - results[lo][c]) / (hi - lo)
            print(f"  {c:>10}: {per:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
