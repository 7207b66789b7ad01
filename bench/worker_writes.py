"""CPU of the delivery worker's batch writes on PostgreSQL: in one statement against the transaction of several.

    .venv/bin/python bench/worker_writes.py [--writes statuses|checks] [--docs 200] [--rounds 4]

``--writes statuses`` (the default): the automatic 01 statuses. Every document a recipient acks owes its sender a
signed status package (QĐ 28/2018: 01 đã đến), two per document of the exchange bench; the delivery worker builds,
signs and records them in batches (service/exchange/auto_status.py). On PostgreSQL a batch's rows (small blobs,
packages, deliveries, status entries, events) go in one statement with each table's rows as a JSON array; SQLite,
and this bench's ``several`` side, run one executemany per table.

A real gateway process (``edoc serve``, one HTTP process, no delivery worker) takes the submits and the acks of
``--docs`` documents (100 KB PDF, 2 recipients); the delivery worker's rounds run in this process. Each round does
both sides in turn on the same database; for each side the figures are medians over the rounds of this process's
CPU per document for the timed worker rounds ("worker"), and of PostgreSQL's CPU (its processes, from /proc) in
the same rounds.

``--writes checks``: the attachment checks. Each document's PDF is verified by the delivery worker, which then
marks the check's message done, stores the summary and the report and logs the event (service/signatures.py
``_finish``): one statement on PostgreSQL, and on this bench's ``several`` side the five statements SQLite runs.
The timed rounds are the first ones after the submits, which also deliver the documents (the same work on both
sides).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import Http, Upkeep, calibration_ms, cpu_seconds, document, process_groups_postgres
from bench.workdir import bench_folder
from service import signatures
from service.context import Gateway
from service.exchange import auto_status
from service.exchange.delivery import DeliveryWorker
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.gateway import make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess

SIDES = {"one statement": True, "several": False}
FLAGS = {"statuses": auto_status, "checks": signatures}  # each module's ONE_STATEMENT switches its writes


def one_side(
    server: GatewayProcess, gw: Gateway, keys: dict[str, str], docs: int, tag: str, writes: str
) -> tuple[float, float]:
    """Submit ``docs`` documents, deliver them (checking their attachments) and ack them; then send their automatic
    statuses. Returns (this process's CPU, PostgreSQL's CPU) per document, in ms, of the worker rounds that
    ``writes`` names: ``checks`` the first ones, ``statuses`` the second."""
    pdf = simple_pdf(4, pad_to=100_000)
    client = Http(server.base)
    worker = DeliveryWorker(gw, name=f"bench-auto-{tag}")
    sender = {"Authorization": f"Bearer {keys['A']}"}
    try:
        ids = []
        for n in range(docs):
            body, ctype = document(n, f"AS-{tag}", pdf, "Văn bản số")
            status, answer = client.request("POST", "/api/v1/edocs", {**sender, "Content-Type": ctype}, body)
            if status != 202:
                raise RuntimeError(f"submit: {status} {answer[:300]!r}")
            ids.append(json.loads(answer)["id"])
        database = process_groups_postgres()
        own, db = time.process_time(), cpu_seconds(database)
        while worker.run_once():
            pass
        checks = 1000 * (time.process_time() - own) / docs, 1000 * (cpu_seconds(database) - db) / docs
        for doc in ids:
            for who in "BC":
                status, answer = client.request("POST", f"/api/v1/edocs/{doc}/ack",
                                                {"Authorization": f"Bearer {keys[who]}"})
                if status != 200:
                    raise RuntimeError(f"ack: {status} {answer[:300]!r}")
        own, db = time.process_time(), cpu_seconds(database)
        while worker.run_once():
            pass
        statuses = 1000 * (time.process_time() - own) / docs, 1000 * (cpu_seconds(database) - db) / docs
        return checks if writes == "checks" else statuses
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", choices=sorted(FLAGS), default="statuses")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL not reachable (EDOC_TEST_POSTGRES_URL)")
    figures: dict[str, dict[str, list[float]]] = {side: {"worker": [], "db": []} for side in SIDES}
    calibration = []
    with bench_folder("edoc-bench-writes-", None) as tmp, temporary_postgres_database("edoc_bench_auto") as url:
        keys = provision(url, tmp, prefix="as")
        server = GatewayProcess(tmp, database_url=url, embedded_worker="false").start()
        gw = Gateway.from_settings(make_settings(url, tmp))
        upkeep = Upkeep(url)  # VACUUM between rounds if the server has autovacuum off (see bench/exchange.py)
        try:
            flag = FLAGS[args.writes]
            one_side(server, gw, keys, min(args.docs, 20), "warm", args.writes)
            for r in range(args.rounds):
                calibration.append(calibration_ms())
                order = list(SIDES) if r % 2 == 0 else list(reversed(SIDES))  # neither side always goes first
                for side in order:
                    flag.ONE_STATEMENT = SIDES[side]
                    worker_ms, db_ms = one_side(server, gw, keys, args.docs, f"r{r}{side[0]}", args.writes)
                    figures[side]["worker"].append(worker_ms)
                    figures[side]["db"].append(db_ms)
                    upkeep.after(args.docs)
        finally:
            auto_status.ONE_STATEMENT = signatures.ONE_STATEMENT = True
            gw.close()
            server.stop()
    what = "automatic 01 statuses (two each)" if args.writes == "statuses" else "deliveries and attachment checks"
    print(f"\n{what} on PostgreSQL: {args.docs} documents a round, medians of "
          f"{args.rounds} rounds; calibration {statistics.median(calibration):.0f} ms")
    print(f"{'recording':<16}{'worker CPU ms/doc':>19}{'database CPU ms/doc':>21}   (each round)")
    base = statistics.median(figures["several"]["worker"])
    for side, runs in figures.items():
        worker, db = statistics.median(runs["worker"]), statistics.median(runs["db"])
        each = " / ".join(f"{w:.2f}" for w in runs["worker"])
        print(f"{side:<16}{worker:>13.2f} {worker / base:>4.2f}x{db:>21.2f}   {each}")


if __name__ == "__main__":
    main()
