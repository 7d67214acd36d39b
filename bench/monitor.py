"""What the worker's behaviour monitor (the audit hook of ``_sandbox/_monitor``) costs a plugin.

Run: ``.venv/bin/python bench/monitor.py [--quick]``. Each round starts a fresh interpreter
that runs a plugin-like workload of 100k record operations, once without the hook and once
with it installed and configured as a worker does (rounds interleaved; medians; no
assertion: numbers depend on the machine). Workloads:

- ``records``: build a Record, annotate it, encode it (msgspec); every 1000th record a log
  call (logging raises ``sys._getframe`` audit events) and a write to the data dir.
- ``audited``: the same, plus one audited call per record that the hook must look at but
  not report (``open`` of a file in the data dir): the worst ordinary case.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile

QUICK = "--quick" in sys.argv
ROUNDS = 3 if QUICK else 7
N = 100_000

CHILD = r"""
import logging, os, sys, time
import msgspec
from wiseflow import Record

hooked, workload, data = sys.argv[1] == "1", sys.argv[2], sys.argv[3]
if hooked:
    from wiseflow._sandbox._monitor import Monitor
    mon = Monitor(exec_denied=True)
    sys.addaudithook(mon.hook)
    mon.configure([sys.prefix, sys.base_prefix, *[p for p in sys.path if p], data], [])
log = logging.getLogger("bench")
log.addHandler(logging.NullHandler())
enc = msgspec.json.Encoder()
path = os.path.join(data, "state.txt")
t0 = time.perf_counter()
for i in range(N):
    r = Record(id=f"r{i}", source="bench", title=f"title {i}", text="lorem ipsum " * 20)
    r.annotations["n"] = i
    enc.encode(r)
    if workload == "audited":
        with open(path, "a"):
            pass
    if i % 1000 == 0:
        log.info("record %d", i)
        with open(path, "w") as f:
            f.write(str(i))
print(time.perf_counter() - t0)
""".replace("N = ", "").replace("range(N)", f"range({N})")


def once(hooked: bool, workload: str, data: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, "1" if hooked else "0", workload, data],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        for workload in ("records", "audited"):
            base: list[float] = []
            hook: list[float] = []
            for _ in range(ROUNDS):
                base.append(once(False, workload, data))
                hook.append(once(True, workload, data))
            b, h = statistics.median(base), statistics.median(hook)
            print(
                f"{workload:8s} 100k ops: without hook {b * 1000:7.1f} ms, with hook "
                f"{h * 1000:7.1f} ms  ({(h / b - 1) * 100:+.1f} %, {ROUNDS} rounds, medians)"
            )


if __name__ == "__main__":
    main()
