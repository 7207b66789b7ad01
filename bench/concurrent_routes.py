"""Gateway CPU per request of the package fetch and the ack under concurrent clients, alone and beside submits.

    .venv/bin/python bench/concurrent_routes.py [--docs 300] [--clients 8] [--rounds 3]

``bench/endpoints.py`` times each request type with one client, one request at a time; this one puts one real
gateway process (``edoc serve``, one HTTP process, no delivery worker) under concurrent keep-alive clients:

    fetch      ``--clients`` threads fetch every document's package (GET /api/v1/edocs/{id}/edxml) as its two
               recipients, three times over
    ack        the same threads ack each document once per recipient
    mixed      4 threads submit the next ``--docs`` documents while ``--clients`` threads fetch and ack the
               previous ones: the gateway CPU per document of its whole path (submit, two fetches, two acks)

The documents are delivered by a delivery worker in this process between the phases. Figures are medians over
``--rounds`` rounds of the gateway process's CPU (user + system, from /proc). To compare two versions of the code,
run this from each checkout (``PYTHONPATH=<checkout>``) one after the other, several times: this shared machine's
speed moves by up to a factor of two within an hour (see the calibration figure).
"""

from __future__ import annotations

import argparse
import functools
import json
import queue
import statistics
import sys
import threading
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import Http, calibration_ms, cpu_seconds, multipart
from bench.workdir import bench_folder
from service.context import Gateway
from service.exchange.delivery import DeliveryWorker
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.gateway import A, B, C, make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess


def in_threads(count: int, body: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Bench:
    def __init__(self, server: GatewayProcess, gw: Gateway, keys: dict[str, str], clients: int) -> None:
        self.server, self.keys, self.clients = server, keys, clients
        self.worker = DeliveryWorker(gw, name="bench-concurrent")
        self.pdf = simple_pdf(4, pad_to=100_000)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def submit(self, tag: str, docs: int, threads: int = 4) -> list[str]:
        ids: list[str] = []

        def sender(k: int) -> None:
            client = Http(self.server.base)
            try:
                for n in range(k, docs, threads):
                    code = {"number": str(n), "notation": f"CR-{tag}"}
                    header: dict[str, object] = {"from": A, "to": [B, C], "code": code,
                                                 "subject": f"Văn bản số {n}", "date": "2026-12-03"}
                    body, ctype = multipart(header, f"vb-{n}.pdf", self.pdf)
                    status, answer = client.request("POST", "/api/v1/edocs", {**self.auth("A"), "Content-Type": ctype},
                                                    body)
                    if status != 202:
                        raise RuntimeError(f"submit: {status} {answer[:300]!r}")
                    ids.append(json.loads(answer)["id"])
            finally:
                client.close()

        in_threads(threads, sender)
        while self.worker.run_once():
            pass
        return ids

    def requests(self, ids: list[str], *, fetch: int, ack: bool) -> None:
        """Each document, as each recipient: ``fetch`` package fetches, then an ack if ``ack``."""
        work: queue.Queue[tuple[str, str]] = queue.Queue()
        for doc in ids:
            for who in "BC":
                work.put((doc, who))

        def client_thread(_k: int) -> None:
            client = Http(self.server.base)
            try:
                while True:
                    try:
                        doc, who = work.get_nowait()
                    except queue.Empty:
                        return
                    for _ in range(fetch):
                        status, body = client.request("GET", f"/api/v1/edocs/{doc}/edxml", self.auth(who))
                        if status != 200:
                            raise RuntimeError(f"fetch: {status} {body[:300]!r}")
                    if ack:
                        status, body = client.request("POST", f"/api/v1/edocs/{doc}/ack", self.auth(who))
                        if status != 200:
                            raise RuntimeError(f"ack: {status} {body[:300]!r}")
            finally:
                client.close()

        in_threads(self.clients, client_thread)

    def cpu_ms(self, body: Callable[[], object], units: int) -> float:
        before = cpu_seconds([self.server.pid])
        body()
        return 1000 * (cpu_seconds([self.server.pid]) - before) / units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL is not reachable (set EDOC_TEST_POSTGRES_URL)")
    figures: dict[str, list[float]] = {"fetch": [], "ack": [], "mixed": []}
    calibration = [calibration_ms()]
    with bench_folder("edoc-bench-cr-") as tmp, temporary_postgres_database() as url:
        keys = provision(url, tmp, prefix="cr")
        server = GatewayProcess(tmp, database_url=url, embedded_worker="false").start()
        gw = Gateway.from_settings(make_settings(url, tmp))
        try:
            bench = Bench(server, gw, keys, args.clients)
            bench.requests(bench.submit("warm", 40), fetch=1, ack=True)
            for r in range(args.rounds):
                ids = bench.submit(f"r{r}", args.docs)
                n = 2 * len(ids)
                figures["fetch"].append(bench.cpu_ms(functools.partial(bench.requests, ids, fetch=3, ack=False), 3 * n))
                figures["ack"].append(bench.cpu_ms(functools.partial(bench.requests, ids, fetch=0, ack=True), n))
                ready = bench.submit(f"m{r}", args.docs)

                def mixed(tag: str = f"n{r}", ready: list[str] = ready) -> None:
                    # the next documents are submitted (and delivered, by this process) while these are fetched
                    fetcher = threading.Thread(target=bench.requests, args=(ready,), kwargs={"fetch": 1, "ack": True})
                    fetcher.start()
                    bench.submit(tag, args.docs)
                    fetcher.join()

                figures["mixed"].append(bench.cpu_ms(mixed, args.docs))
        finally:
            gw.close()
            server.stop()
    calibration.append(calibration_ms())
    print(
        f"edoc-gateway fetch and ack under {args.clients} concurrent clients: one HTTP process, PostgreSQL, "
        f"{args.docs} documents a round (100 KB PDF, 2 recipients), medians of {args.rounds} rounds; calibration "
        + " / ".join(f"{c:.0f}" for c in calibration) + " ms"
    )
    for name, label in (("fetch", "fetch, ms per request"), ("ack", "ack, ms per request"),
                        ("mixed", "mixed, ms per document (submit + 2 fetches + 2 acks)")):
        runs = " / ".join(f"{x:.2f}" for x in figures[name])
        print(f"  {label:55s} {statistics.median(figures[name]):6.2f}   ({runs})")


if __name__ == "__main__":
    main()
