"""CPU of writing a submit's blobs to the local object store: one after the other, or together (``put_many``).

    .venv/bin/python bench/blob_writes.py [--submits 300] [--rounds 5] [--dir /path/on/the/volume/to/test]
                                          [--base /path/to/another/checkout]

Each "submit" writes what a native submit of a 100 KB PDF writes: the attachment (100 KB) and the signed package
(138 KB), fresh random bytes each time, into a FilesystemObjectStore with fsync on (the default):

    sequential   put_bytes twice: write, fsync, rename, fsync the folder; then the same for the second blob
    together     put_many: both written, both fsynced, both renamed, each folder fsynced once

With ``--base``, a third way: ``together`` with the FilesystemObjectStore of another checkout of the gateway
(a ``git worktree`` of the base revision), to judge a change to the store side by side with what it replaces.

The ways alternate within each round, so a slow spell of this shared machine hits both; the figures are medians over
the rounds of this process's CPU per submit (user + system: most of it is the kernel's) and wall time per submit.
The store's folder is made under ``--dir`` (default: a folder of its own under ``<temp>/edoc-bench``, see
bench/workdir.py), so run it on the volume the gateway's objects live on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import calibration_ms
from bench.workdir import bench_folder
from storage.objects.filesystem import FilesystemObjectStore

SIZES = (100_000, 138_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--base", type=Path, default=None, help="another checkout whose store to compare")
    args = parser.parse_args()
    calibration = [calibration_ms()]
    names = ["sequential", "together", *(["base together"] if args.base else [])]
    figures: dict[str, dict[str, list[float]]] = {k: {"cpu": [], "wall": []} for k in names}
    with bench_folder("edoc-blobs-", args.dir) as tmp:
        store = FilesystemObjectStore(tmp / "objects")
        ways: dict[str, Callable[[list[bytes]], object]] = {
            "sequential": lambda blobs: [store.put_bytes(b) for b in blobs],
            "together": store.put_many,
        }
        if args.base:
            ways["base together"] = _store_of(args.base, tmp / "base-objects").put_many
        for _round in range(args.rounds):
            for name, way in ways.items():
                batches = [[os.urandom(n) for n in SIZES] for _ in range(args.submits)]
                cpu, wall = time.process_time(), time.perf_counter()
                for blobs in batches:
                    way(blobs)
                figures[name]["cpu"].append(1000 * (time.process_time() - cpu) / args.submits)
                figures[name]["wall"].append(1000 * (time.perf_counter() - wall) / args.submits)
    calibration.append(calibration_ms())
    sizes = " + ".join(f"{n // 1000} KB" for n in SIZES)
    print(
        f"edoc-gateway blob writes: {args.submits} submits a round (blobs of {sizes}), medians of {args.rounds} "
        f"rounds; calibration {' / '.join(f'{c:.0f}' for c in calibration)} ms"
    )
    print(f"{'way':12s} {'CPU ms/submit':>14s} {'wall ms/submit':>15s}   CPU of each round")
    for name, f in figures.items():
        runs = " / ".join(f"{x:.2f}" for x in f["cpu"])
        print(f"{name:12s} {statistics.median(f['cpu']):>14.2f} {statistics.median(f['wall']):>15.2f}   {runs}")
    ratio = statistics.median(figures["together"]["cpu"]) / statistics.median(figures["sequential"]["cpu"])
    print(f"together / sequential CPU: {ratio:.2f}")
    if args.base:
        ratio = statistics.median(figures["together"]["cpu"]) / statistics.median(figures["base together"]["cpu"])
        print(f"together / base together CPU: {ratio:.2f}")


def _store_of(checkout: Path, root: Path) -> Any:
    """The FilesystemObjectStore of another checkout, loaded under a name of its own beside this one's."""
    import importlib.util

    source = checkout / "storage" / "objects" / "filesystem.py"
    if not source.is_file():
        sys.exit(f"error: {checkout} is not a checkout of edoc-gateway (no {source.relative_to(checkout)})")
    spec = importlib.util.spec_from_file_location("base_filesystem_store", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilesystemObjectStore(root)


if __name__ == "__main__":
    main()
