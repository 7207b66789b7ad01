"""CPU per request type and per delivery-worker step: where a document's cost goes, one step at a time.

    .venv/bin/python bench/endpoints.py [--docs 200] [--backend postgresql|sqlite] [--rounds 3]

``bench/exchange.py`` gives the throughput of the whole exchange, where every step runs at once; this one says
what each step costs, so that a change to one of them can be judged on its own figure. A real gateway process
(``edoc serve``, one HTTP process, no delivery worker) runs on a fresh database; one keep-alive client sends
``--docs`` requests of each kind one after the other (no concurrency, so no queueing or lock contention in the
figures), and the delivery worker's rounds run in this process between the phases:

    healthz      GET /healthz: the framework's floor per request
    submit       POST /api/v1/edocs, multipart 100 KB PDF, 2 recipients
    worker 1     the rounds that deliver them and check the attachment's PDF signatures
    inbox        GET /api/v1/inbox?limit=100 as a recipient
    edxml        GET /api/v1/edocs/{id}/edxml as each recipient (the signed package, about 135 KB)
    ack          POST /api/v1/edocs/{id}/ack as each recipient
    worker 2     the rounds that send the automatic 01 statuses the acks imply (two per document)

With ``--vxp``, the national-axis calls of bench/vxp.py instead (one recipient): sendEdoc, the delivery rounds,
getReceivedEdocList, getEdoc, updateStatus(done), the rounds that send the automatic 01.

For each step: the gateway process's CPU (user + system, from /proc) per request, the database's CPU per
request (PostgreSQL backends, from /proc), and the client's wall time per request, as medians of ``--rounds``
rounds. The worker rows count this process's CPU per document. "calibration" is a fixed pure-Python loop timed
in the same run: whether the run was made on a fast or a slow hour of this shared machine (its speed moves by up
to a factor of two); the gateway's figures do not scale with it one to one, so compare in paired runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exchange import Http, Upkeep, calibration_ms, cpu_seconds, document, process_groups_postgres
from bench.workdir import bench_folder, file_create_ms
from service.context import Gateway
from service.exchange.delivery import DeliveryWorker
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.gateway import A, B, make_settings, provision
from tests.support.pdfs import simple_pdf
from tests.support.server import GatewayProcess


class Steps:
    """Times one step: gateway CPU, database CPU and wall time per unit, over ``units`` calls of ``body``."""

    def __init__(self, server_pid: int, with_postgres: bool) -> None:
        self.server_pid = server_pid
        self.with_postgres = with_postgres
        self.figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def run(self, name: str, units: int, body: Callable[[], None], *, in_process: bool = False) -> None:
        db = process_groups_postgres() if self.with_postgres else []
        gateway_before, db_before = cpu_seconds([self.server_pid]), cpu_seconds(db)
        own_before = time.process_time()
        started = time.perf_counter()
        body()
        wall = time.perf_counter() - started
        own = time.process_time() - own_before
        gateway = own if in_process else cpu_seconds([self.server_pid]) - gateway_before
        figures = self.figures[name]
        figures["gateway"].append(1000 * gateway / units)
        figures["db"].append(1000 * (cpu_seconds(db) - db_before) / units)
        figures["wall"].append(1000 * wall / units)


def vxp_round(server: GatewayProcess, gw: Gateway, secrets: dict[str, str], docs: int, steps: Steps, tag: str) -> None:
    """The national-axis calls of bench/vxp.py one after the other: sendEdoc, the delivery rounds,
    getReceivedEdocList (all of them), getEdoc and updateStatus(done) for each, the rounds after."""
    from bench.vxp import KeepAliveHttp
    from service.vxp.client import VxpClient
    from tests.unit.vxp.sdk_client import edoc_xml

    http: Any = KeepAliveHttp(server.base, lambda _response: None)
    sender = VxpClient(f"{server.base}/vxp", "ep.sender", secrets["sender"], http=http)
    receiver = VxpClient(f"{server.base}/vxp", "ep.receiver", secrets["receiver"], http=http)
    worker = DeliveryWorker(gw, name=f"bench-vxp-{tag}")
    ids: list[str] = []

    def send() -> None:
        for n in range(docs):
            ids.append(sender.send_edoc(edoc_xml(A, [B], f"{tag}{n:05d}", notation="EPVXP"), from_code=A))

    def drain() -> None:
        while worker.run_once():
            pass

    def listing() -> None:
        for _ in range(docs):
            receiver.get_received_edoc_list("edoc")

    def get() -> None:
        for doc in ids:
            receiver.get_edoc(doc)

    def done() -> None:
        for doc in ids:
            receiver.update_status(doc, "done")

    try:
        steps.run("vxp sendEdoc", docs, send)
        steps.run("worker 1 (deliver)", docs, drain, in_process=True)
        steps.run("vxp getReceivedEdocList", docs, listing)
        steps.run("vxp getEdoc", docs, get)
        steps.run("vxp updateStatus(done)", docs, done)
        steps.run("worker 2 (automatic 01)", docs, drain, in_process=True)
    finally:
        http.close()


def one_round(
    server: GatewayProcess, gw: Gateway, keys: dict[str, str], docs: int, steps: Steps, tag: str,
    vxp: dict[str, str] | None = None,
) -> None:
    pdf = simple_pdf(4, pad_to=100_000)
    client = Http(server.base)
    worker = DeliveryWorker(gw, name=f"bench-{tag}")
    sender = {"Authorization": f"Bearer {keys['A']}"}
    recipients = [{"Authorization": f"Bearer {keys[who]}"} for who in "BC"]
    recipient = recipients[0]  # the inbox step lists B's
    ids: list[str] = []

    def call(method: str, path: str, headers: dict[str, str], body: bytes | None = None, ok: int = 200) -> bytes:
        status, answer = client.request(method, path, headers, body)
        if status != ok:
            raise RuntimeError(f"{method} {path}: {status} {answer[:300]!r}")
        return answer

    def healthz() -> None:
        for _ in range(docs):
            call("GET", "/healthz", {})

    def submit() -> None:
        for n in range(docs):
            body, ctype = document(n, f"EP-{tag}", pdf, "Văn bản đo bước số")
            answer = call("POST", "/api/v1/edocs", {**sender, "Content-Type": ctype}, body, ok=202)
            ids.append(json.loads(answer)["id"])

    def drain() -> None:
        while worker.run_once():
            pass

    def inbox() -> None:
        for _ in range(docs):
            call("GET", "/api/v1/inbox?limit=100", recipient)

    def edxml() -> None:
        for doc in ids:
            for auth in recipients:
                call("GET", f"/api/v1/edocs/{doc}/edxml", auth)

    def ack() -> None:
        for doc in ids:
            for auth in recipients:
                call("POST", f"/api/v1/edocs/{doc}/ack", auth)

    try:
        if vxp is not None:
            vxp_round(server, gw, vxp, docs, steps, tag)
            return
        steps.run("healthz", docs, healthz)
        steps.run("submit", docs, submit)
        steps.run("worker 1 (deliver, check PDF)", docs, drain, in_process=True)
        steps.run("inbox (100 items)", docs, inbox)
        steps.run("edxml", 2 * docs, edxml)
        steps.run("ack", 2 * docs, ack)
        steps.run("worker 2 (automatic 01)", docs, drain, in_process=True)
    finally:
        client.close()


def vxp_systems(url: str, tmp: Path) -> dict[str, str]:
    """One VXP system for agency A (sender) and one for B (receiver); their secrets."""
    from service.exchange.directory import create_client, set_vxp_secret

    gw = Gateway.from_settings(make_settings(url, tmp))
    key = gw.settings.secret_key.get_secret_value()
    secrets = {}
    with gw.writes() as session, session.begin():
        for name, code in (("sender", A), ("receiver", B)):
            client, _api_key = create_client(session, name=f"ep-vxp-{name}", role="dms", agencies=[code])
            secrets[name] = set_vxp_secret(session, client, systemid=f"ep.{name}", secret_key=key)
    gw.close()
    return secrets


def bench(url: str, tmp: Path, docs: int, rounds: int, vxp: bool = False) -> tuple[Steps, list[float]]:
    keys = provision(url, tmp, prefix="ep")
    secrets = vxp_systems(url, tmp) if vxp else None
    server = GatewayProcess(tmp, database_url=url, embedded_worker="false").start()
    gw = Gateway.from_settings(make_settings(url, tmp))
    steps = Steps(server.pid, url.startswith("postgresql"))
    calibration = []
    upkeep = Upkeep(url)  # VACUUM between rounds if the server has autovacuum off (see bench/exchange.py)
    try:
        one_round(server, gw, keys, min(docs, 20), Steps(server.pid, False), "warm", secrets)
        upkeep.after(min(docs, 20))
        for r in range(rounds):
            calibration.append(calibration_ms())
            one_round(server, gw, keys, docs, steps, f"r{r}", secrets)
            upkeep.after(docs)
    finally:
        gw.close()
        server.stop()
    return steps, calibration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--vxp", action="store_true", help="the national-axis calls (bench/vxp.py's) instead")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="make the gateway's data folder under this folder; default: under <temp>/edoc-bench (bench/workdir.py)",
    )
    args = parser.parse_args()
    with bench_folder("edoc-bench-ep-", args.workdir) as tmp:
        if args.backend == "sqlite":
            steps, calibration = bench(f"sqlite:///{tmp / 'edoc.sqlite3'}", tmp, args.docs, args.rounds, args.vxp)
        else:
            if not postgres_available():
                sys.exit("PostgreSQL not reachable (EDOC_TEST_POSTGRES_URL)")
            with temporary_postgres_database("edoc_bench_ep") as url:
                steps, calibration = bench(url, tmp, args.docs, args.rounds, args.vxp)
        create_ms = file_create_ms(tmp)
    print(
        f"\nedoc-gateway per-step cost: {args.backend}, {args.docs} documents a round (100 KB PDF, 2 recipients), "
        f"one client, medians of {args.rounds} rounds; calibration {statistics.median(calibration):.0f} ms "
        f"(runs: {', '.join(f'{c:.0f}' for c in calibration)})"
    )
    print(f"{'step':<32}{'gateway CPU ms':>16}{'database CPU ms':>17}{'wall ms':>10}   (per request / document)")
    total = 0.0
    for name, figures in steps.figures.items():
        gateway = statistics.median(figures["gateway"])
        if not name.startswith(("healthz", "inbox", "vxp getReceived")):
            total += gateway * (2 if name in ("edxml", "ack") else 1)
        print(f"{name:<32}{gateway:>16.2f}{statistics.median(figures['db']):>17.2f}"
              f"{statistics.median(figures['wall']):>10.2f}")
    path = ("sendEdoc, worker, getEdoc, updateStatus; lists not counted" if args.vxp
            else "submit, worker, edxml and ack at both recipients; inbox pages not counted")
    print(f"gateway CPU of one document's path ({path}): {total:.1f} ms")
    print(f"creating a file in the gateway's data folder after the rounds: {create_ms:.3f} ms CPU (bench/workdir.py)")


if __name__ == "__main__":
    main()
