"""What installing from a signed repository costs, against the CLI's fixed cost.

Interleaved rounds, medians: ``plugins install news --yes`` (TUF refresh of four metadata
files, two wheels downloaded and verified over HTTP on 127.0.0.1, unpacked, hashed, lock
written) against ``plugins list`` in the same project (the CLI's start, discovery and
listing: the baseline every command pays), and ``plugins search`` (a refresh alone).

    python bench/repository.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "repo"))

from repo_kit import make_wheel, serve  # noqa: E402


def _wf(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "wiseflow", *args], cwd=cwd, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"wiseflow {' '.join(args)} failed: {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        wheels = base / "wheels"
        make_wheel(wheels, "textutil", "1.0.0", kind="processor")
        make_wheel(wheels, "news", "1.0.0", requires={"textutil": ">=1"})
        served = base / "served"
        _wf(base, "repo", "init", str(served))
        _wf(base, "repo", "add", str(served), *map(str, sorted(wheels.glob("*.whl"))))
        _wf(base, "repo", "publish", str(served))
        times: dict[str, list[float]] = {"list": [], "search": [], "install": []}
        with serve(served) as url:
            for _ in range(rounds):
                project = base / "project"
                shutil.rmtree(project, ignore_errors=True)
                project.mkdir()
                (project / "wiseflow.toml").write_text(
                    f'[wiseflow]\ndata_dir = "state"\n[repository]\nurl = "{url}"\n'
                    f'root = "{served}/metadata/1.root.json"\n'
                )
                times["list"].append(_wf(project, "plugins", "list", "--json"))
                times["install"].append(_wf(project, "plugins", "install", "news", "--yes"))
                times["search"].append(_wf(project, "plugins", "search", "--json"))
    base_ms = statistics.median(times["list"]) * 1000
    print(f"{'command':<28}{'median ms':>10}{'x list':>8}")
    for name, label in (("list", "plugins list (baseline)"), ("search", "plugins search"),
                        ("install", "plugins install (2 wheels)")):  # fmt: skip
        ms = statistics.median(times[name]) * 1000
        print(f"{label:<28}{ms:>10.0f}{ms / base_ms:>8.2f}")


if __name__ == "__main__":
    main()
