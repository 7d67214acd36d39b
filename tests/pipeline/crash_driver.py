"""Run a changelog pipeline in a subprocess so a test can SIGKILL it mid-run.

Usage: ``python crash_driver.py ROOT DATA_DIR BATCH_SIZE``. Prints ``batch N`` after each
committed batch (flushed), then ``done STORED DUPLICATES FETCHED``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from wiseflow import ProcessorPlugin, Record
from wiseflow._pipeline import LocalBackend, LocalStage, local_stage, parse_pipeline, run_pipeline
from wiseflow._pipeline._summary import RunSummary
from wiseflow._store import Store


class Slow(ProcessorPlugin):
    """Takes a little time per batch so the run lasts long enough to be killed."""

    def process(self, batch: list[Record]) -> list[Record]:
        time.sleep(0.01)
        return batch


def main() -> None:
    root, data, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    text = (
        f'[pipeline]\nname = "crash"\nbatch_size = {batch}\nqueue_batches = 2\n'
        f'[[sources]]\nplugin = "debian-changelog"\nname = "cl"\nconfig = {{ root = "{root}" }}\n'
        '[[processors]]\nplugin = "text"\n[[processors]]\nplugin = "slow"\n'
    )
    pipeline = parse_pipeline(text)
    source = local_stage("debian-changelog", name="cl", config={"root": str(root)}, data_dir=data)
    text_stage = local_stage("text", data_dir=data)
    slow = LocalStage(Slow(), name="slow", plugin="slow", config={}, data_dir=data / "slow",
                      backend=LocalBackend("slow"))  # fmt: skip
    store = Store.open(data)
    n = 0

    def progress(summary: RunSummary) -> None:
        nonlocal n
        n += 1
        print(f"batch {n}", flush=True)

    s = run_pipeline(pipeline, store, [source], [text_stage, slow], [], progress=progress)
    print(f"done {s.stored} {s.duplicates} {s.fetched}", flush=True)


if __name__ == "__main__":
    main()
