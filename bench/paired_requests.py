"""Server CPU per request of two versions of the gateway, side by side in one run: the way to judge a change to a
request path on a shared machine whose speed moves by up to a factor of two within minutes.

    git worktree add /tmp/base <rev>
    .venv/bin/python bench/paired_requests.py --base /tmp/base [--new .] [--rounds 6] [--docs 200]

Two gateway processes (``edoc serve``, one HTTP process each, no delivery worker) run on one fresh PostgreSQL
database: one imports the code under ``--base``, the other the code under ``--new`` (this checkout by default).
One keep-alive client sends each of them, in turn, a batch of requests of each kind (the order of the two
alternates from round to round), and the delivery worker's rounds run in this process between the phases, outside
the measured windows:

    submit    POST /api/v1/edocs, multipart 100 KB PDF, 2 recipients
    edxml     GET /api/v1/edocs/{id}/edxml at each recipient
    ack       POST /api/v1/edocs/{id}/ack at each recipient
    healthz   GET /healthz: a control, the same code in both unless the change touched it

For each kind: each version's server CPU per request (user + system of the process tree, from /proc), medians of
``--rounds`` rounds after one warm-up round, and the ratio new/base. The control's ratio says how far apart two
identical paths land in this run. ``bench/endpoints.py`` gives one version's cost of every step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import Http, cpu_seconds, document
from bench.workdir import bench_folder
from service.context import Gateway
from service.exchange.delivery import DeliveryWorker
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.gateway import make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import ROOT, GatewayProcess

KINDS = ("submit", "edxml", "ack", "healthz")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (the HTTP process uvicorn starts), from /proc."""
    import psutil

    return cpu_seconds([pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))])


class Version:
    """One gateway process running the code under ``root``."""

    def __init__(self, name: str, root: Path, url: str, data: Path, keys: dict[str, str]) -> None:
        self.name = name
        process = GatewayProcess(data, database_url=url, embedded_worker="false")
        process.env["PYTHONPATH"] = str(root)  # before the editable install of this checkout
        self.process = process.start()
        self.http = Http(process.base)
        self.auth = {who: {"Authorization": f"Bearer {keys[who]}"} for who in "ABC"}
        self.cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, ok: int = 200) -> bytes:
        status, answer = self.http.request(method, path, headers, body)
        if status != ok:
            raise RuntimeError(f"{self.name}: {method} {path}: {status} {answer[:300]!r}")
        return answer

    def measure(self, kind: str, requests: int, work: Callable[[], object]) -> None:
        assert self.process.proc is not None
        before = tree_cpu_seconds(self.process.proc.pid)
        work()
        self.cpu[kind].append((tree_cpu_seconds(self.process.proc.pid) - before) / requests * 1000)

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


def one_round(version: Version, docs: int, first: int, pdf: bytes, drain: Callable[[], None]) -> None:
    ids: list[str] = []

    def submit() -> None:
        for n in range(first, first + docs):
            body, ctype = document(n, "PAIRED", pdf, "Văn bản đo cặp số")
            answer = version.call("POST", "/api/v1/edocs", {**version.auth["A"], "Content-Type": ctype}, body, 202)
            ids.append(json.loads(answer)["id"])

    def fetch() -> None:
        for doc in ids:
            for who in "BC":
                version.call("GET", f"/api/v1/edocs/{doc}/edxml", version.auth[who])

    def ack() -> None:
        for doc in ids:
            for who in "BC":
                version.call("POST", f"/api/v1/edocs/{doc}/ack", version.auth[who])

    def healthz() -> None:
        for _ in range(2 * docs):
            version.call("GET", "/healthz", {})

    version.measure("submit", docs, submit)
    drain()
    version.measure("edxml", 2 * docs, fetch)
    version.measure("ack", 2 * docs, ack)
    version.measure("healthz", 2 * docs, healthz)
    drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="a checkout of the base version (git worktree)")
    parser.add_argument("--new", type=Path, default=ROOT, help="the version to compare (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--docs", type=int, default=200, help="documents per round and version")
    args = parser.parse_args()
    base, newer = args.base.resolve(), args.new.resolve()
    for root in (base, newer):
        if not (root / "service" / "app.py").is_file():
            sys.exit(f"error: {root} is not a checkout of edoc-gateway (no service/app.py)")
    if not postgres_available():
        sys.exit("error: this bench needs the PostgreSQL server (EDOC_TEST_POSTGRES_URL)")
    pdf = simple_pdf(4, pad_to=100_000)
    with temporary_postgres_database("paired") as url, bench_folder("paired-") as data:
        keys = provision(url, data, prefix="paired")
        versions = [Version("base", base, url, data, keys), Version("new", newer, url, data, keys)]
        gw = Gateway.from_settings(make_settings(url, data))
        worker = DeliveryWorker(gw, name="paired")

        def drain() -> None:
            while worker.run_once():
                pass

        try:
            first = 0
            for r in range(args.rounds + 1):
                for version in versions if r % 2 == 0 else versions[::-1]:
                    one_round(version, args.docs, first, pdf, drain)
                    first += args.docs
                print(f"round {r}/{args.rounds} done", file=sys.stderr, flush=True)
        finally:
            for version in versions:
                version.stop()
            gw.close()
    old, new = versions
    print(
        f"server CPU ms per request, base {base} against {newer}: medians of {args.rounds} alternated rounds of "
        f"{args.docs} documents (one warm-up round dropped)"
    )
    print(f"{'request':10s} {'base':>8s} {'new':>8s} {'new/base':>9s}   runs (base | new)")
    for kind in KINDS:
        b, n = old.cpu[kind][1:], new.cpu[kind][1:]
        mb, mn = statistics.median(b), statistics.median(n)
        runs = f"{' '.join(f'{x:.2f}' for x in b)} | {' '.join(f'{x:.2f}' for x in n)}"
        print(f"{kind:10s} {mb:8.3f} {mn:8.3f} {mn / mb:9.2f}   {runs}")


if __name__ == "__main__":
    main()
