"""Gateway CPU per request type and per delivery-worker step, for one version or two versions side by side.

    .venv/bin/python bench/endpoints.py [--docs 200] [--backend postgresql|sqlite] [--rounds 3] [--vxp]
    git worktree add /tmp/base <rev>
    .venv/bin/python bench/endpoints.py --base /tmp/base [--new .] [--rounds 6] [--docs 200]

``bench/exchange.py`` gives the throughput of the whole exchange, where every step runs at once; this one says
what each step costs, so that a change to one of them can be judged on its own figure.

One version (the default): a real gateway process (``edoc serve``, one HTTP process, no delivery worker) runs on
a fresh database; one keep-alive client sends ``--docs`` requests of each kind one after the other (no
concurrency, so no queueing or lock contention in the figures), and the delivery worker's rounds run in this
process between the phases:

    healthz      GET /healthz: the framework's floor per request
    submit       POST /api/v1/edocs, multipart 100 KB PDF, 2 recipients
    worker 1     the rounds that deliver them and check the attachment's PDF signatures
    inbox        GET /api/v1/inbox?limit=100 as a recipient
    edxml        GET /api/v1/edocs/{id}/edxml as each recipient (the signed package, about 135 KB)
    ack          POST /api/v1/edocs/{id}/ack as each recipient
    worker 2     the rounds that send the automatic 01 statuses the acks imply (two per document)

With ``--vxp``, the national-axis calls of bench/vxp.py instead (one recipient): sendEdoc, the delivery rounds,
getReceivedEdocList, getEdoc, updateStatus(done), the rounds that send the automatic 01. For each step: the
gateway process's CPU per request, the database's CPU per request (PostgreSQL's processes) and the client's wall
time per request, medians of ``--rounds`` rounds; the worker rows count this process's CPU per document.

Two versions (``--base``, formerly bench/paired_requests.py): the way to judge a change to a request path on a
shared machine whose speed moves by up to a factor of two within minutes. Two gateway processes (one HTTP process
each, no delivery worker) run on one fresh PostgreSQL database, one importing the code under ``--base``, the
other the code under ``--new`` (this checkout by default). The client sends each of them in turn a batch of
submits, edxml fetches and acks at each recipient, and healthz (a control: the same code in both unless the change
touched it), the order of the two alternating from round to round; the worker's rounds run in this process
outside the measured windows. Printed: each version's server CPU per request (its process tree), medians of
``--rounds`` rounds after one warm-up round, and the ratio new/base; the control's ratio says how far apart two
identical paths land in this run.

With ``--events-search N`` (issue 21 item 6), the auditor search instead: N exchange-log events (default
1,000,000; ``--events-search 10000000`` for the issue's target) are generated on a fresh PostgreSQL database by
``generate_series`` (8 events per document: submitted, delivered, acked, status packages 01/03/06 or a 02 for one
document in 50, over a year and 40 agencies; subjects and số/ký hiệu on the packages), then ``ANALYZE``; each
filter combination of ``GET /api/v1/events`` runs ``--rounds`` × 20 times with varying values through
``storage.events.search_events`` (a 50-row page, newest first), and p50/p95 of the query time are printed.

Figures of past runs, and what they decided: docs/performance.md.
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

from bench.harness import (
    ROOT,
    Http,
    KeepAliveHttp,
    Upkeep,
    alternate,
    bench_folder,
    calibration_ms,
    checkout,
    cpu_seconds,
    database,
    document,
    drain,
    file_create_ms,
    gateway_of,
    process_groups_postgres,
    tree_cpu_seconds,
)
from service.context import Gateway
from service.exchange.delivery import DeliveryWorker
from service.wiring import build_gateway
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
        steps.run("worker 1 (deliver)", docs, lambda: drain(worker), in_process=True)
        steps.run("vxp getReceivedEdocList", docs, listing)
        steps.run("vxp getEdoc", docs, get)
        steps.run("vxp updateStatus(done)", docs, done)
        steps.run("worker 2 (automatic 01)", docs, lambda: drain(worker), in_process=True)
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
        steps.run("worker 1 (deliver, check PDF)", docs, lambda: drain(worker), in_process=True)
        steps.run("inbox (100 items)", docs, inbox)
        steps.run("edxml", 2 * docs, edxml)
        steps.run("ack", 2 * docs, ack)
        steps.run("worker 2 (automatic 01)", docs, lambda: drain(worker), in_process=True)
    finally:
        client.close()


def vxp_systems(url: str, tmp: Path) -> dict[str, str]:
    """One VXP system for agency A (sender) and one for B (receiver); their secrets."""
    from service.exchange.directory import create_client, set_vxp_secret

    gw = build_gateway(make_settings(url, tmp))
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
    gw = build_gateway(make_settings(url, tmp))
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


# ------------------------------------------------------------------------------------------------ two versions

KINDS = ("submit", "edxml", "ack", "healthz")


class Version:
    """One gateway process running the code under ``root``, and its server CPU per request of each kind."""

    def __init__(self, name: str, root: Path, url: str, data: Path, keys: dict[str, str]) -> None:
        self.name = name
        self.process = gateway_of(root, data, url, embedded_worker="false").start()
        self.http = Http(self.process.base)
        self.auth = {who: {"Authorization": f"Bearer {keys[who]}"} for who in "ABC"}
        self.cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, ok: int = 200) -> bytes:
        status, answer = self.http.request(method, path, headers, body)
        if status != ok:
            raise RuntimeError(f"{self.name}: {method} {path}: {status} {answer[:300]!r}")
        return answer

    def measure(self, kind: str, requests: int, work: Callable[[], object]) -> None:
        before = tree_cpu_seconds(self.process.pid)
        work()
        self.cpu[kind].append((tree_cpu_seconds(self.process.pid) - before) / requests * 1000)

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


def paired_round(version: Version, docs: int, first: int, pdf: bytes, worker: DeliveryWorker) -> None:
    """One batch of each kind against ``version``; the worker's rounds run between, outside the measures."""
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
    drain(worker)
    version.measure("edxml", 2 * docs, fetch)
    version.measure("ack", 2 * docs, ack)
    version.measure("healthz", 2 * docs, healthz)
    drain(worker)


def paired(base: Path, newer: Path, rounds: int, docs: int) -> None:
    pdf = simple_pdf(4, pad_to=100_000)
    calibration = [calibration_ms()]
    with bench_folder("edoc-bench-paired-") as data, database("postgresql", data, "edoc_bench_paired") as url:
        keys = provision(url, data, prefix="paired")
        versions = [Version("base", base, url, data, keys), Version("new", newer, url, data, keys)]
        gw = build_gateway(make_settings(url, data))
        worker = DeliveryWorker(gw, name="paired")
        try:
            first = 0
            for r in range(rounds + 1):
                for version in alternate(r, versions):
                    paired_round(version, docs, first, pdf, worker)
                    first += docs
                print(f"round {r}/{rounds} done", file=sys.stderr, flush=True)
        finally:
            for version in versions:
                version.stop()
            gw.close()
    calibration.append(calibration_ms())
    old, new = versions
    print(
        f"server CPU ms per request, base {base} against {newer}: medians of {rounds} alternated rounds of "
        f"{docs} documents (one warm-up round dropped); calibration {' / '.join(f'{c:.0f}' for c in calibration)} ms"
    )
    print(f"{'request':10s} {'base':>8s} {'new':>8s} {'new/base':>9s}   runs (base | new)")
    for kind in KINDS:
        b, n = old.cpu[kind][1:], new.cpu[kind][1:]
        mb, mn = statistics.median(b), statistics.median(n)
        runs = f"{' '.join(f'{x:.2f}' for x in b)} | {' '.join(f'{x:.2f}' for x in n)}"
        print(f"{kind:10s} {mb:8.3f} {mn:8.3f} {mn / mb:9.2f}   {runs}")


# ------------------------------------------------------------------------------------------------ one version


def one_version(args: argparse.Namespace) -> None:
    with bench_folder("edoc-bench-ep-", args.workdir) as tmp:
        with database(args.backend, tmp, "edoc_bench_ep") as url:
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
    print(f"creating a file in the gateway's data folder after the rounds: {create_ms:.3f} ms CPU (bench/harness.py)")


# ------------------------------------------------------------------------------------------------ event search

_SEED_PACKAGES = """
INSERT INTO package (id, kind, document_id, from_code, business_type, subject, blob_sha256, size, request_sha256,
                     idempotency_key, channel, summary, signature, oddities, created_at)
SELECT lpad(to_hex(i), 32, '0'), 'edoc', format('%s,2026/01/01,%s/%s', a, i, n), a, 0,
       format('Về việc %s %s năm 2026 (văn bản %s)', (ARRAY['triển khai','báo cáo','kiểm tra','chuyển đổi số',
              'tổng kết','hướng dẫn','đề nghị','phê duyệt'])[1 + i % 8],
              (ARRAY['công tác văn thư','kế hoạch đầu tư','an toàn thông tin','cải cách hành chính',
              'ngân sách','nhân sự','dịch vụ công','lưu trữ'])[1 + (i / 8) % 8], i),
       repeat('0', 64), 1, repeat('0', 64), 'k' || i, 'api',
       json_build_object('code_number', i::text, 'code_notation', n), '{}'::json, '[]'::json,
       timestamptz '2026-01-01 00:00+07' + (i * interval '1 second') * (31536000.0 / CAST(:docs AS bigint))
FROM (SELECT i, format('000.00.%s.H53', lpad((i % 40)::text, 2, '0')) AS a,
             (ARRAY['UBND-VP','STTTT-VP','SNV-TCCB','STC-NS'])[1 + i % 4] AS n
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i) g
"""
_SEED_DELIVERIES = """
INSERT INTO delivery (id, package_id, to_code, route, state, attempts, created_at, delivered_at, acked_at, updated_at)
SELECT lpad(to_hex(i), 31, '0') || 'd', lpad(to_hex(i), 32, '0'),
       format('000.00.%s.H53', lpad(((i + 7) % 40)::text, 2, '0')), 'local', 'acked', 1, t, t, t, t
FROM (SELECT i,
             timestamptz '2026-01-01 00:00+07' + (i * interval '1 second') * (31536000.0 / CAST(:docs AS bigint)) AS t
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i) g
"""
_SEED_EVENTS = """
INSERT INTO exchange_event (at, kind, package_id, document_id, agency_code, actor, detail)
SELECT p.created_at + k * interval '1 minute',
       (ARRAY['submitted','delivered','acked','status_submitted','status','delivered','status','status'])[k + 1],
       p.id, p.document_id, CASE WHEN k IN (0) THEN p.from_code ELSE d.to_code END, 'bench',
       CASE WHEN k = 4 THEN json_build_object('status_code', '01')
            WHEN k = 6 THEN json_build_object('status_code', CASE WHEN i % 50 = 0 THEN '02' ELSE '03' END)
            WHEN k = 7 AND i % 50 <> 0 THEN json_build_object('status_code', '06')
            ELSE '{}'::json END
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i
JOIN package p ON p.id = lpad(to_hex(i), 32, '0')
JOIN delivery d ON d.package_id = p.id
CROSS JOIN generate_series(0, 7) AS k
"""


def _seed_events(url: str, events: int) -> None:
    import sqlalchemy as sa

    from storage.migrate import upgrade

    upgrade(url)
    docs = max(1, events // 8)
    engine = sa.create_engine(url)
    step = 100_000
    started = time.perf_counter()
    for lo in range(1, docs + 1, step):
        hi = min(docs, lo + step - 1)
        with engine.begin() as conn:
            for sql in (_SEED_PACKAGES, _SEED_DELIVERIES, _SEED_EVENTS):
                conn.execute(sa.text(sql), {"lo": lo, "hi": hi, "docs": docs})
        print(f"  seeded {hi * 8:,} events ({time.perf_counter() - started:.0f} s)", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def _search_cases(docs: int) -> dict[str, Callable[[int], Any]]:
    from datetime import datetime, timedelta, timezone

    from storage.events import EventSearch, Keyset

    vn = timezone(timedelta(hours=7))
    agency = lambda n: f"000.00.{n % 40:02d}.H53"  # noqa: E731
    month = lambda n: datetime(2026, 1 + n % 12, 1, tzinfo=vn)  # noqa: E731
    number = lambda n: 4 * (1 + n * 7919 % max(1, docs // 4)) + 2  # noqa: E731 - a document whose ký hiệu is SNV-…
    words = ("triển khai", "an toàn thông tin", "cải cách hành chính", "ngân sách")
    return {
        "newest events, no filter": lambda n: EventSearch(sort="desc"),
        "status 02 (1 document in 50)": lambda n: EventSearch(status_code="02", sort="desc"),
        "status 06 in one month": lambda n: EventSearch(status_code="06", since=month(n),
                                                        until=month(n) + timedelta(days=28), sort="desc"),
        "kind delivered, one agency": lambda n: EventSearch(kind="delivered", agency=agency(n), sort="desc"),
        "agency, deep page (keyset)": lambda n: EventSearch(
            agency=agency(n), sort="desc", after=Keyset(datetime(2026, 6, 1, tzinfo=vn), 10**12)),
        "sender": lambda n: EventSearch(sender=agency(n), sort="desc"),
        "recipient + status 01": lambda n: EventSearch(recipient=agency(n), status_code="01", sort="desc"),
        "free text, subject (common words)": lambda n: EventSearch(text=words[n % 4], sort="desc"),
        "free text, số/ký hiệu (one document)": lambda n: EventSearch(text=f"{number(n)}/SNV", sort="desc"),
        "document id": lambda n: EventSearch(document_id=f"{agency(0)},2026/01/01,{40 * (n + 1)}/UBND-VP"),
    }


def events_search(args: argparse.Namespace) -> None:
    from storage.db import create_engine, session_factory
    from storage.events import search_events

    with bench_folder("edoc-bench-search-", args.workdir) as tmp, database("postgresql", tmp, "edoc_bench_ev") as url:
        _seed_events(url, args.events_search)
        engine = create_engine(url)
        sessions = session_factory(engine)
        docs = max(1, args.events_search // 8)
        print(f"\nevent search on PostgreSQL, {docs * 8:,} events ({docs:,} documents), 50-row pages newest first, "
              f"{args.rounds * 20} queries per case (storage.events.search_events; ms)")
        print(f"{'case':<40}{'p50':>8}{'p95':>8}{'max':>8}{'rows':>6}")
        for name, case in _search_cases(docs).items():
            times, rows = [], 0
            with sessions() as session:
                search_events(session, case(0), limit=50)  # warm the plan and the cache for this shape
                for n in range(args.rounds * 20):
                    started = time.perf_counter()
                    rows = len(search_events(session, case(n + 1), limit=50))
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{name:<40}{statistics.median(times):>8.2f}{p95:>8.2f}{times[-1]:>8.2f}{rows:>6}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="documents per round (and per version with --base)")
    parser.add_argument("--rounds", type=int, default=None, help="measured rounds (default 3; 6 with --base)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--vxp", action="store_true", help="the national-axis calls (bench/vxp.py's) instead")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="make the gateway's data folder under this folder; default: under <temp>/edoc-bench (bench/harness.py)",
    )
    parser.add_argument("--base", type=Path, default=None,
                        help="a checkout of the base version (git worktree): compare it with --new side by side")
    parser.add_argument("--new", type=Path, default=ROOT, help="with --base: the version to compare (this checkout)")
    parser.add_argument("--events-search", type=int, nargs="?", const=1_000_000, default=None, metavar="EVENTS",
                        help="auditor search on PostgreSQL over EVENTS generated events (default 1,000,000)")
    args = parser.parse_args()
    if args.events_search is not None:
        args.rounds = args.rounds or 3
        events_search(args)
    elif args.base is not None:
        paired(checkout(args.base), checkout(args.new), args.rounds or 6, args.docs)
    else:
        args.rounds = args.rounds or 3
        one_version(args)


if __name__ == "__main__":
    main()
