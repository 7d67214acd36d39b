"""Plugin environments benchmark: resolving, building, sharing, and a worker's start with one.

Builds a folder of test wheels (``wfdemolib`` 1.0/2.0, ``wfhelper`` 0.5) and times, as
medians over ``--repeat`` runs:

- ``resolve``: ``resolve_env(["wfhelper"])`` from the folder (uv pip compile, 2 packages);
- ``build``: ``build_env`` of that set into a fresh data dir (uv venv + uv pip install);
- ``reuse``: ``build_env`` again (the env exists: shared, nothing built);
- ``load plain`` / ``load env``: a sandboxed plugin's worker started and its code loaded
  (``PluginManager.load``, then closed), without and with an environment on its path.
  Both plugins are the same code (importing nothing from the env): the difference is the
  cost of the environment itself (sys.path, Landlock rule).

Usage: python bench/envs.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "envs"))

from wheel_kit import demo_wheels

from wiseflow._envs import EnvSources, build_env, resolve_env
from wiseflow._policy._envlock import attach
from wiseflow._run._run import open_manager

CODE = (
    "from wiseflow import *\n\n"
    "class P(ConnectorPlugin):\n    def fetch(self, state):\n        yield from ()\n"
)


def median_ms(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    repeat = ap.parse_args().repeat
    with tempfile.TemporaryDirectory(prefix="wf-bench-envs-") as tmp:
        root = Path(tmp)
        sources = EnvSources(find_links=(str(demo_wheels(root / "wheels")),))
        env = resolve_env(["wfhelper"], sources)
        counter = iter(range(10_000))
        rows = {
            "resolve": median_ms(lambda: resolve_env(["wfhelper"], sources), repeat),
            "build": median_ms(lambda: build_env(env, root / f"d{next(counter)}", sources), repeat),
            "reuse": median_ms(lambda: build_env(env, root / "d0", sources), repeat),
        }
        proj = root / "proj"
        for name in ("plain", "withenv"):
            folder = proj / "plugins" / name
            folder.mkdir(parents=True)
            (folder / "plugin.toml").write_text(
                f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "connector"\n'
                'entry = "plugin:P"\n'
            )
            (folder / "plugin.py").write_text(CODE)
        (proj / "wiseflow.toml").write_text(
            '[wiseflow]\nplugin_dirs = ["plugins"]\ndata_dir = "state"\n'
        )
        for name in ("plain", "withenv"):
            subprocess.run(
                [sys.executable, "-m", "wiseflow", "plugins", "grant", name, "--all"],
                cwd=proj,
                check=True,
                capture_output=True,
            )
        build_env(env, proj / "state", sources)
        attach(proj / "wiseflow.lock", "withenv", env)
        pm = open_manager(proj / "wiseflow.toml")

        def load(name: str) -> None:
            pm.load(name)
            pm.close([name])

        load("plain")  # warm: the zygote, discovery
        handle = pm.load("withenv")
        assert handle.runner.spec.python_path, "the env is not on the worker's path"  # type: ignore[attr-defined]
        pm.close(["withenv"])
        # interleaved, so that the machine's load affects both alike
        plain, withenv = [], []
        for _ in range(repeat):
            plain.append(median_ms(lambda: load("plain"), 1)[0])
            withenv.append(median_ms(lambda: load("withenv"), 1)[0])
        rows["load plain"] = (statistics.median(plain), plain)
        rows["load env"] = (statistics.median(withenv), withenv)
        pm.close()
    for what, (med, times) in rows.items():
        print(f"{what:12} median {med:9.2f} ms   (min {min(times):.2f}, max {max(times):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
