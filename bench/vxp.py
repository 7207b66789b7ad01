"""Throughput of the VXP facade (STANDARDS.md §8): documents/s through send → list → get → done, 16 clients.

    .venv/bin/python bench/vxp.py [--docs 800] [--clients 16] [--backend sqlite|postgresql] [--http-workers 1]
    .venv/bin/python bench/vxp.py --base /tmp/base [--new .] --backend postgresql --repeat 4

``--base DIR`` (``--new DIR``, this checkout by default): two versions side by side, as issue 19 judges its
performance devices. Each run starts a gateway of one checkout on a fresh database (provisioned by this
checkout's code: both versions must have the same migrations), the versions alternating which goes first each
round; the table gives each figure's median per version and the ratio new/base.

A real gateway process (``edoc serve``, embedded delivery worker) runs on a fresh database. Each of the
``--clients`` threads is one receiving DMS with its own agency and VXP system; one sending DMS (agency A) is
shared. Each thread loops: sendEdoc (A → its agency), getReceivedEdocList until the document is there, getEdoc,
updateStatus(done). Documents/s = documents that completed the four steps / wall time. Every call is signed by
``service.vxp.VxpClient`` exactly as the SDK signs (HMAC-SHA256, fresh timestamp), and checked by the server
(HMAC, headers, timestamp, hash-file, replay guard in the database). The client sends over a keep-alive
``http.client`` connection per thread instead of httpx: the load generator shares the two cores with the gateway,
and httpx cost about three times the CPU per call.

"Share of time in authentication" is what the server reports per call in ``Server-Timing`` (``auth`` = the
authenticator: secret lookup, header checks, HMAC, timestamp, hash-file, replay-guard insert; ``app`` = the whole
call): sum(auth) / sum(app) over every call of the run. Packages are small (≈2 KB, one attachment) and unsigned,
so the figure is about the protocol and the exchange, not about XML signature verification.

"CPU ms per document" is user + system CPU from /proc over the run, divided by the documents: the gateway's
process tree (``edoc serve``, its uvicorn workers, the embedded delivery worker), the database (PostgreSQL: the
backends connected to this run's database plus the server's shared background processes; nothing for SQLite,
which runs inside the gateway), and this load generator (signing, HTTP client). On a shared 2-core machine it
is far steadier than documents/s, which moves with whatever else runs; "rest of the machine" (busy CPU from
/proc/stat less those three) says how much else ran meanwhile. "Machine calibration" times a fixed pure-Python
workload before and after the run: whether it was made on a fast or a slow hour of this shared machine.
Figures of past runs: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    ROOT,
    KeepAliveHttp,
    KeepAliveResponse,
    alternate,
    bench_folder,
    calibration_ms,
    checkout,
    cpu_seconds,
    database,
    database_pids,
    file_create_ms,
    gateway_of,
    machine_busy_seconds,
    medians,
)
from service.exchange.directory import AgencyInput, create_client, import_agencies, set_vxp_secret
from service.vxp.client import VxpClient
from service.wiring import build_gateway
from storage.migrate import upgrade
from tests.support.gateway import AGENCIES, A, make_settings
from tests.support.server import GatewayProcess
from tests.unit.vxp.sdk_client import edoc_xml


def receiver_code(i: int) -> str:
    return f"000.{i // 90 + 10:02d}.{i % 90 + 10:02d}.H53"


def prepare(database_url: str, tmp: Path, clients: int) -> dict[str, str]:
    upgrade(database_url)
    gw = build_gateway(make_settings(database_url, tmp))
    key = gw.settings.secret_key.get_secret_value()
    secrets = {}
    extra = [AgencyInput(code=receiver_code(i), name=f"Đơn vị nhận thử tải {i}") for i in range(clients)]
    with gw.writes() as session, session.begin():
        import_agencies(session, [*AGENCIES, *extra])
        for name, code in [("sender", A), *((f"r{i}", receiver_code(i)) for i in range(clients))]:
            client, _api_key = create_client(session, name=f"bench-{name}", role="dms", agencies=[code])
            secrets[name] = set_vxp_secret(session, client, systemid=f"bench.{name}", secret_key=key)
    gw.close()
    return secrets


def process_groups(server: GatewayProcess, database_url: str) -> dict[str, list[int]]:
    import psutil

    root = psutil.Process(server.pid)
    gateway = [root.pid] + [child.pid for child in root.children(recursive=True)]
    return {"gateway": gateway, "db": database_pids(database_url), "loadgen": [os.getpid()]}


class Timings:
    """Server-Timing (auth, app) of every answer, and client-side latency per operation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.auth = 0.0
        self.app = 0.0
        self.calls = 0
        self.latency: dict[str, list[float]] = defaultdict(list)

    def hook(self, response: KeepAliveResponse) -> None:
        parts = dict(p.strip().split(";dur=") for p in response.headers.get("server-timing", "").split(",") if p)
        with self.lock:
            self.auth += float(parts.get("auth", 0)) / 1000
            self.app += float(parts.get("app", 0)) / 1000
            self.calls += 1

    def took(self, op: str, seconds: float) -> None:
        with self.lock:
            self.latency[op].append(seconds)


def run_client(base: str, i: int, secrets: dict[str, str], docs: int, timings: Timings, errors: list[str]) -> None:
    with ExitStack() as stack:
        http: Any = KeepAliveHttp(base, timings.hook)
        stack.callback(http.close)
        sender = VxpClient(f"{base}/vxp", "bench.sender", secrets["sender"], http=http)
        receiver = VxpClient(f"{base}/vxp", f"bench.r{i}", secrets[f"r{i}"], http=http)
        code = receiver_code(i)
        for n in range(docs):
            try:
                t0 = time.perf_counter()
                doc = sender.send_edoc(edoc_xml(A, [code], f"{i}{n:05d}", notation="BENCH"), from_code=A)
                t1 = time.perf_counter()
                timings.took("sendEdoc", t1 - t0)
                while True:
                    t = time.perf_counter()
                    listed = [r.doc_id for r in receiver.get_received_edoc_list("edoc")]
                    timings.took("getReceivedEdocList", time.perf_counter() - t)
                    if doc in listed:
                        break
                    time.sleep(0.05)  # a DMS polls; faster polling only burns signed calls
                t = time.perf_counter()
                receiver.get_edoc(doc)
                timings.took("getEdoc", time.perf_counter() - t)
                t = time.perf_counter()
                receiver.update_status(doc, "done")
                timings.took("updateStatus", time.perf_counter() - t)
            except Exception as exc:  # a bench reports, it does not stop at the first failure
                errors.append(f"client {i} doc {n}: {type(exc).__name__}: {exc}")


def bench(database_url: str, tmp: Path, docs: int, clients: int, http_workers: int,
          root: Path | None = None) -> dict[str, float]:
    """One run on a fresh gateway (of the checkout under ``root``, this one by default)."""
    secrets = prepare(database_url, tmp, clients)
    server: GatewayProcess = gateway_of(root or ROOT, tmp, database_url, worker_poll_seconds="0.02")
    server.start("--workers", str(http_workers))
    timings, errors = Timings(), []
    per_client = max(1, docs // clients)
    try:
        groups = process_groups(server, database_url)
        cpu_before = {pid: cpu_seconds([pid]) for pids in groups.values() for pid in pids}
        busy_before = machine_busy_seconds()
        threads = [
            threading.Thread(target=run_client, args=(server.base, i, secrets, per_client, timings, errors))
            for i in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        # Backends the pool opened during the run count whole (they did nothing before it); one that ended
        # during the run is lost (its CPU is not readable any more), so the db figure is a floor.
        groups["db"] = sorted(set(groups["db"]) | set(database_pids(database_url)))
        cpu_used = {
            name: sum(max(0.0, cpu_seconds([pid]) - cpu_before.get(pid, 0.0)) for pid in pids)
            for name, pids in groups.items()
        }
        # What the rest of the machine used meanwhile (another job on this shared box): a noise indicator.
        cpu_used["other"] = machine_busy_seconds() - busy_before - sum(cpu_used.values())
    finally:
        server.stop()
    done = per_client * clients - len(errors)
    for line in errors[:5]:
        print("error:", line, file=sys.stderr)
    return {
        "docs": done,
        "wall": wall,
        "docs_per_s": done / wall,
        "auth_share": timings.auth / max(timings.app, 1e-9),
        "calls": timings.calls,
        "auth_ms": 1000 * timings.auth / max(timings.calls, 1),
        **{f"cpu {name}": 1000 * used / max(done, 1) for name, used in cpu_used.items()},
        **{f"p50 {op}": 1000 * statistics.median(v) for op, v in timings.latency.items()},
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=800)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--http-workers", type=int, default=1, help="uvicorn worker processes of the gateway")
    parser.add_argument("--base", type=Path, default=None,
                        help="a checkout of the base version: run it and --new side by side, alternating")
    parser.add_argument("--new", type=Path, default=ROOT, help="with --base: the version to compare (this checkout)")
    parser.add_argument("--repeat", type=int, default=3, help="with --base: runs of each version")
    args = parser.parse_args()
    if args.base is not None:
        paired(args)
        return
    calibration = [calibration_ms()]
    with bench_folder("edoc-bench-vxp-") as tmp:
        with database(args.backend, tmp) as url:
            result = bench(url, tmp, args.docs, args.clients, args.http_workers)
        create_ms = file_create_ms(tmp)
    print(
        f"backend {args.backend}, {args.clients} clients, {args.http_workers} HTTP worker(s): "
        f"{result['docs']:.0f} documents in {result['wall']:.1f} s"
    )
    calibration.append(calibration_ms())
    print(f"  documents/s (send → list → get → done): {result['docs_per_s']:.1f}")
    print(
        f"  share of server time in authentication: {100 * result['auth_share']:.1f} % "
        f"({result['auth_ms']:.2f} ms per call over {result['calls']} calls)"
    )
    print(
        f"  CPU ms/doc: gateway {result['cpu gateway']:.1f}, db {result['cpu db']:.1f}, "
        f"load generator {result['cpu loadgen']:.1f} (rest of the machine meanwhile: {result['cpu other']:.1f})"
    )
    for key in sorted(k for k in result if k.startswith("p50 ")):
        print(f"  {key} (client-side): {result[key]:.1f} ms")
    print(
        f"  machine calibration (bench/harness.py calibration_ms, before and after): "
        f"{' / '.join(f'{c:.0f}' for c in calibration)} ms"
    )
    print(f"  creating a file in the gateway's data folder after the run: {create_ms:.3f} ms CPU (bench/harness.py)")
    if result["errors"]:
        print(f"  errors: {result['errors']:.0f}")


PAIRED_FIGURES = (("docs_per_s", "docs/s", 1), ("cpu gateway", "gateway ms/doc", 2), ("cpu db", "database ms/doc", 2),
                  ("p50 updateStatus", "p50 done ms", 2), ("cpu other", "other ms/doc", 2))


def same_migrations(roots: dict[str, Path]) -> bool:
    versions = {name: sorted(p.name for p in (root / "storage/migrations/versions").glob("*.py"))
                for name, root in roots.items()}
    return len({tuple(v) for v in versions.values()}) == 1


def paired(args: argparse.Namespace) -> None:
    """Both checkouts, a fresh gateway and database per run, alternated; medians per version and new/base."""
    roots = {"base": checkout(args.base), "new": checkout(args.new)}
    if not same_migrations(roots):
        sys.exit("error: the two checkouts have different migrations; this bench provisions both with this one")
    calibration = [calibration_ms()]
    runs: dict[str, list[dict[str, float]]] = {"base": [], "new": []}
    with bench_folder("edoc-bench-vxp-paired-") as tmp:
        for n in range(args.repeat):
            for name in alternate(n, list(roots)):
                folder = tmp / f"{name}{n}"
                folder.mkdir()
                with database(args.backend, folder, f"edoc_bench_vxp_{name}") as url:
                    result = bench(url, folder, args.docs, args.clients, args.http_workers, roots[name])
                runs[name].append(result)
                print(f"run {n + 1}/{args.repeat} {name}: {result['docs_per_s']:.1f} docs/s", file=sys.stderr,
                      flush=True)
    calibration.append(calibration_ms())
    print(
        f"\nedoc-gateway VXP benchmark, paired: base {roots['base']} against new {roots['new']}; backend "
        f"{args.backend}, {args.docs} documents a run, {args.clients} clients, {args.http_workers} HTTP worker(s), "
        f"{args.repeat} alternated runs per version (medians); calibration "
        f"{' / '.join(f'{c:.0f}' for c in calibration)} ms"
    )
    print(f"{'version':<9}" + "".join(f"{label:>17}" for _, label, _ in PAIRED_FIGURES) + "   docs/s of each run")
    for name, results in runs.items():
        row = medians(results)
        each = " / ".join(f"{r['docs_per_s']:.1f}" for r in results)
        print(f"{name:<9}" + "".join(f"{row[key]:>17.{digits}f}" for key, _, digits in PAIRED_FIGURES) + f"   {each}")
    base, new = medians(runs["base"]), medians(runs["new"])
    print(f"{'new/base':<9}" + "".join(f"{new[key] / base[key]:>17.2f}" if base[key] else f"{'-':>17}"
                                      for key, _, _ in PAIRED_FIGURES))


if __name__ == "__main__":
    main()
