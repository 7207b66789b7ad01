"""Transparency-log benchmark (issue 21): events appended per second with checkpoints on, proof generation at
10 million leaves, offline evidence-bundle verification, and the exchange's documents/s with the log on vs off.

Modes (default: the first three):

- ``--append``: writer threads commit exchange-log events (one per transaction, the exchange's shape) through
  ``service.exchange.log.record`` while the worker's sequencer loop integrates and signs; prints events/s
  committed, checkpoints per second and the delay from commit to the first checkpoint covering the event.
- ``--proofs``: seeds a log of ``--leaves`` (10 M) leaf hashes directly as C2SP tiles through the storage layer
  (object store + ``tlog_tile`` rows + ``tlog_state``), then times inclusion and consistency proofs for random
  indexes and sizes through ``LogService`` (tile reads included): p50/p95 and tiles read per proof.
- ``--bundle``: a document through an in-process gateway, its evidence bundle, and ``verify_bundle`` timed
  (p50/p95; target ≤ 50 ms).
- ``--exchange``: bench/exchange.py's paired machinery, base = the commit before the log (the parent of the commit
  that added storage/tlog/merkle.py, extracted with ``git archive``), new = this checkout: documents/s at saturation
  with the log off vs on in the same run (target ≥ 0.9×).
- ``--search [EVENTS]``: p50/p95 of the auditor's filtered event search over EVENTS (10 M) generated events on
  PostgreSQL, one line per filter combination: ``bench/endpoints.py --events-search``'s bench, run from here so
  the issue's figures come from one script (target p95 ≤ 50 ms).

Figures and the commands that printed them: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, bench_folder, calibration_ms, database


def _gateway(url: str, folder: Path) -> Any:
    from service.wiring import build_gateway
    from storage.migrate import upgrade
    from tests.support.gateway import make_settings

    upgrade(url)
    return build_gateway(make_settings(url, folder))


def _q(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


# ------------------------------------------------------------------------------------------------ --append


def bench_append(url: str, folder: Path, seconds: float, writers: int) -> dict[str, float]:
    from service.exchange import log
    from service.exchange.tlog import log_service
    from storage.tlog import store

    gw = _gateway(url, folder)
    service = log_service(gw)
    service.integrate_once()
    stop = threading.Event()
    commits: list[tuple[int, float]] = []  # (events committed so far, when)
    marks: list[tuple[int, float]] = []  # (checkpoint size, when)
    lock = threading.Lock()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            with gw.writes() as session, session.begin():
                log.record(session, "bench", package_id=None, document_id=f"bench-{n}-{i}", agency="000.00.11.H53",
                           actor="bench", n=i)
            with lock:
                commits.append((len(commits) + 1, time.perf_counter()))
            i += 1

    halt = threading.Event()

    def sequencer() -> None:  # the worker's own loop: one checkpoint per EDOC_LOG_CHECKPOINT_SECONDS under load
        service.run_forever(halt)

    def watcher() -> None:  # when each checkpoint became visible
        last = -1
        while not halt.is_set():
            size = service.state().size
            if size != last:
                marks.append((size, time.perf_counter()))
                last = size
            if stop.is_set() and size >= len(commits) + base:
                halt.set()
            time.sleep(0.005)

    with gw.sessions() as session:
        base = store.read_state(session).size
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    helpers = [threading.Thread(target=sequencer), threading.Thread(target=watcher)]
    started = time.perf_counter()
    for t in (*threads, *helpers):
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    for t in helpers:
        t.join(timeout=60)
    halt.set()
    elapsed = commits[-1][1] - started
    # Delay from a commit to the first checkpoint whose size covers it (events committed in order of their count).
    delays, j = [], 0
    for count, at in commits:
        while j < len(marks) and marks[j][0] - base < count:
            j += 1
        if j < len(marks):
            delays.append(marks[j][1] - at)
    gw.close()
    return {
        "events_per_s": len(commits) / elapsed,
        "checkpoints_per_s": len({s for s, t in marks if t <= commits[-1][1]}) / elapsed,
        "lag_p50_ms": statistics.median(delays) * 1000,
        "lag_max_ms": max(delays) * 1000,
        "events": len(commits),
    }


# ------------------------------------------------------------------------------------------------ --proofs


def seed_tiles(gw: Any, leaves: int) -> None:
    """A log of ``leaves`` random leaf hashes written as tiles, straight through the storage layer."""
    from storage.models import TlogState
    from storage.tlog import store
    from storage.tlog.merkle import root_from_hashes
    from storage.tlog.tiles import TILE_WIDTH, TileWrite, tile_path, tile_width
    from storage.tlog.tiles import _hashes as split_hashes

    level, count = 0, leaves
    upper: list[bytes] = []
    rng = random.Random(21)
    while count:
        tiles = (count + TILE_WIDTH - 1) // TILE_WIDTH
        next_upper: list[bytes] = []
        batch: list[TileWrite] = []
        for n in range(tiles):
            width = tile_width(leaves, level, n)
            above = upper[n * TILE_WIDTH:n * TILE_WIDTH + width]
            data = rng.randbytes(32 * width) if level == 0 else b"".join(above)
            if width == TILE_WIDTH:
                next_upper.append(root_from_hashes(split_hashes(data)))
            batch.append(TileWrite(tile_path(level, n, width), data))
            if len(batch) >= 2048 or n == tiles - 1:
                refs = store.write_tiles(gw.store, batch)
                with gw.writes() as session, session.begin():
                    store.record_tiles(session, refs)
                batch = []
        upper, level = next_upper, level + 1
        count = leaves >> (8 * level)
        print(f"  level {level - 1}: {tiles} tiles", file=sys.stderr, flush=True)
    with gw.writes() as session, session.begin():
        session.query(TlogState).filter(TlogState.id == 1).update({"size": leaves})


def bench_proofs(url: str, folder: Path, leaves: int, samples: int) -> dict[str, float]:
    from service.exchange.tlog import log_service
    from storage.tlog import store
    from storage.tlog.merkle import consistency_proof, inclusion_proof

    gw = _gateway(url, folder)
    started = time.perf_counter()
    seed_tiles(gw, leaves)
    seeded = time.perf_counter() - started
    service = log_service(gw)
    rng = random.Random(9)
    incl, cons, reads = [], [], []
    for _ in range(samples):
        index = rng.randrange(leaves)
        t = time.perf_counter()
        service.inclusion(index, leaves)
        incl.append(time.perf_counter() - t)
        old = rng.randrange(1, leaves)
        t = time.perf_counter()
        service.consistency(old, leaves)
        cons.append(time.perf_counter() - t)
        with gw.sessions() as session:
            oracle = service.oracle(session, store.read_state(session).size)
            inclusion_proof(oracle.subtree, index, leaves)
            consistency_proof(oracle.subtree, old, leaves)
            reads.append(oracle.reads)
    gw.close()
    return {
        "seed_s": seeded,
        "inclusion_p50_ms": statistics.median(incl) * 1000, "inclusion_p95_ms": _q(incl, 95) * 1000,
        "consistency_p50_ms": statistics.median(cons) * 1000, "consistency_p95_ms": _q(cons, 95) * 1000,
        "tiles_read_max": max(reads),
    }


# ------------------------------------------------------------------------------------------------ --bundle


def bench_bundle(url: str, folder: Path, samples: int) -> dict[str, float]:
    from service.exchange.evidence import verify_bundle
    from service.exchange.tlog import log_service
    from tests.support.exchange import header, status, submit
    from tests.support.gateway import A, B, C, gateway_env

    envs = gateway_env(url, folder)
    env = next(envs)
    try:
        doc = submit(env, "A", header(A, [B, C])).json()["id"]
        env.deliver()
        for who in "BC":
            env.http.post(f"/api/v1/edocs/{doc}/ack", headers=env.as_(who))
        for code in ("03", "04", "05", "06"):
            status(env, "B", doc, code)
        env.deliver()
        log = log_service(env.gw)
        while log.integrate_once():
            pass
        bundle = env.http.get(f"/api/v1/edocs/{doc}/evidence", headers=env.as_("A")).content
        vkey = log.verifier.vkey
        assert verify_bundle(bundle, vkey) == []
        times = []
        for _ in range(samples):
            t = time.perf_counter()
            verify_bundle(bundle, vkey)
            times.append(time.perf_counter() - t)
        import io
        import json
        import zipfile

        events = len(json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("manifest.json"))["events"])
    finally:
        envs.close()
    return {"verify_p50_ms": statistics.median(times) * 1000, "verify_p95_ms": _q(times, 95) * 1000,
            "bundle_kb": len(bundle) / 1024, "events": events}


# ------------------------------------------------------------------------------------------------ --exchange


def log_off_revision() -> str:
    added = subprocess.run(
        ["git", "log", "--format=%H", "--diff-filter=A", "-1", "--", "storage/tlog/merkle.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    if not added:
        sys.exit("error: no commit adds storage/tlog/merkle.py (is this a git checkout?)")
    return f"{added}^"


def bench_exchange(args: argparse.Namespace) -> None:
    rev = args.log_off or log_off_revision()
    with tempfile.TemporaryDirectory(prefix="edoc-log-off-") as base:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        print(f"log off: {rev} extracted to {base}; log on: {ROOT}", file=sys.stderr, flush=True)
        cmd = [sys.executable, str(ROOT / "bench" / "exchange.py"), "--base", base, "--new", str(ROOT),
               "--backends", args.backends, "--docs", str(args.docs), "--repeat", str(args.repeat),
               "--target-rate", "0", "--separate-worker"]
        subprocess.run(cmd, check=True, env={**os.environ})


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--append", action="store_true")
    parser.add_argument("--proofs", action="store_true")
    parser.add_argument("--bundle", action="store_true")
    parser.add_argument("--exchange", action="store_true")
    parser.add_argument("--search", type=int, nargs="?", const=10_000_000, default=None, metavar="EVENTS",
                        help="event search p50/p95 over EVENTS generated events on PostgreSQL (default 10,000,000)")
    parser.add_argument("--rounds", type=int, default=3, help="--search: rounds of 20 queries per filter case")
    parser.add_argument("--backend", default="postgresql", help="sqlite or postgresql (append, proofs, bundle)")
    parser.add_argument("--seconds", type=float, default=10.0, help="--append: how long the writers run")
    parser.add_argument("--writers", type=int, default=4, help="--append: writer threads")
    parser.add_argument("--leaves", type=int, default=10_000_000, help="--proofs: tree size")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--backends", default="postgresql", help="--exchange: backends of the paired runs")
    parser.add_argument("--docs", type=int, default=300, help="--exchange: documents a run")
    parser.add_argument("--repeat", type=int, default=3, help="--exchange: alternated runs per version")
    parser.add_argument("--log-off", default=None, help="--exchange: the revision without the log (default: found)")
    args = parser.parse_args()
    chosen = [m for m in ("append", "proofs", "bundle", "exchange") if getattr(args, m)]
    if not chosen and args.search is None:
        chosen = ["append", "proofs", "bundle"]
    calibration = calibration_ms()
    print(f"edoc-gateway transparency-log benchmark; backend {args.backend}; calibration {calibration:.0f} ms")
    for mode in chosen:
        if mode == "exchange":
            bench_exchange(args)
            continue
        with bench_folder(f"edoc-bench-tlog-{mode}-") as tmp, database(args.backend, tmp, f"edoc_bench_{mode}") as url:
            if mode == "append":
                r = bench_append(url, tmp, args.seconds, args.writers)
                print(f"append: {r['events_per_s']:.0f} events/s committed ({args.writers} writers, one event a "
                      f"transaction, {r['events']} events), {r['checkpoints_per_s']:.1f} checkpoints/s, commit to "
                      f"checkpoint p50 {r['lag_p50_ms']:.0f} ms, max {r['lag_max_ms']:.0f} ms")
            elif mode == "proofs":
                r = bench_proofs(url, tmp, args.leaves, args.samples)
                print(f"proofs at {args.leaves:,} leaves (seeded in {r['seed_s']:.0f} s): inclusion p50 "
                      f"{r['inclusion_p50_ms']:.2f} ms p95 {r['inclusion_p95_ms']:.2f} ms; consistency p50 "
                      f"{r['consistency_p50_ms']:.2f} ms p95 {r['consistency_p95_ms']:.2f} ms; at most "
                      f"{r['tiles_read_max']} tiles read per proof pair")
            elif mode == "bundle":
                r = bench_bundle(url, tmp, args.samples)
                print(f"bundle: offline verification p50 {r['verify_p50_ms']:.2f} ms p95 {r['verify_p95_ms']:.2f} "
                      f"ms ({r['events']} events, {r['bundle_kb']:.0f} KiB; target ≤ 50 ms)")
    if args.search is not None:
        bench_search(args.search, args.rounds)


def bench_search(events: int, rounds: int) -> None:
    """The event-search bench of bench/endpoints.py (always PostgreSQL: the target is PostgreSQL's)."""
    from bench.endpoints import events_search

    events_search(argparse.Namespace(events_search=events, rounds=rounds, workdir=None))
    print("target: p95 of a filtered page ≤ 50 ms at 10 M events (issue 21 item 6)")


if __name__ == "__main__":
    main()
