"""Integrity benchmark: hashing a big plugin folder cold, and again through the stat cache.

Generates a plugin folder of N small files (default 5,000, spread over sub-folders, ~200 B
each), waits until their stamps are older than the cache's racy window, then times:

- ``cold``: ``hash_tree`` with an empty cache (every file read and hashed);
- ``cached``: ``hash_tree`` with a ``HashCache`` loaded from its JSON file (as the next
  command would: the load is included), nothing changed;
- ``cached mem``: ``hash_tree`` with one warm in-memory ``HashCache`` (the stat floor);
- ``cached+1``: ``cached`` after one file changed (one re-hash, the cache file rewritten);
- ``loader verify``: ``wiseflow._contract._loader.verify_tree``, the whole-folder check each import
  of a locked plugin performs (it uses no cache, so it costs what ``cold`` costs).

Medians over ``--repeat`` runs. Usage: python bench/integrity.py [--files 5000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wiseflow._contract._integrity import _RACY_S, HashCache, hash_tree
from wiseflow._contract._loader import verify_tree


def make_folder(root: Path, n: int) -> None:
    (root / "plugin.toml").write_text('[plugin]\nname = "big"\n')
    for i in range(n - 1):
        sub = root / f"pkg{i % 50:02}"
        sub.mkdir(exist_ok=True)
        (sub / f"m{i:05}.py").write_text(f"# module {i}\nVALUE = {i}\n" + "x = 1\n" * 30)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        folder.mkdir()
        make_folder(folder, args.files)
        time.sleep(_RACY_S + 0.5)  # older than the racy window: the cache may trust stamps
        cache_file = Path(tmp) / "hashes.json"
        approved = hash_tree(folder)

        def cached() -> None:
            cache = HashCache(cache_file)
            hash_tree(folder, cache)
            cache.save()

        cached()  # warm the cache file
        results = {
            "cold": median_ms(lambda: hash_tree(folder, HashCache()), args.repeat),
            "cached": median_ms(cached, args.repeat),
        }
        warm = HashCache()
        hash_tree(folder, warm)
        results["cached mem"] = median_ms(lambda: hash_tree(folder, warm), args.repeat)
        probe = HashCache(cache_file)
        hash_tree(folder, probe)
        assert probe.hashed == 0, "the cache should have answered for every file"

        one = next(folder.glob("pkg00/*.py"))
        flip = [0]

        def cached_one_changed() -> None:
            flip[0] += 1
            one.write_text(f"# changed {flip[0]}\n")
            cached()

        results["cached+1"] = median_ms(cached_one_changed, args.repeat)
        one.unlink()
        approved = hash_tree(folder)
        results["loader verify"] = median_ms(
            lambda: verify_tree(str(folder), approved, plugin="big"), args.repeat
        )
        print(f"integrity: {args.files} files, median of {args.repeat} (cpus: {os.cpu_count()})")
        for name, ms in results.items():
            print(f"  {name:14} {ms:9.1f} ms")
        print(f"  cold / cached  {results['cold'] / results['cached']:9.1f} x")


if __name__ == "__main__":
    main()
