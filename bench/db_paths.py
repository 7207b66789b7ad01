"""Client CPU of one short statement by the three paths the gateway uses on PostgreSQL.

    .venv/bin/python bench/db_paths.py [--calls 2000] [--rounds 5]

The statement is the submit's replay check (an indexed SELECT on ``package`` that finds nothing), run on a fresh
migrated database by:

    session      a read Session (gw.sessions(): autocommit on PostgreSQL, so no BEGIN or ROLLBACK either)
    autocommit   a Connection in autocommit (storage.db.autocommit)
    driver       psycopg on a pooled connection (storage.db.run_on_driver)

The three run in turn within each round, so a slow spell of this shared machine hits all of them; the figures are
the medians over the rounds of this process's CPU per call (user + system) and the wall time per call. The database
server's own CPU is not counted: it runs the same statement each way. The differences are the client's own
objects around the statement: the Session, the Connection with its execution context and result, and switching the
pooled connection to autocommit and back at each checkout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.exchange import calibration_ms
from service.context import Gateway
from storage.db import autocommit, run_on_driver
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.gateway import A, make_settings, provision

SQL = "SELECT id, request_sha256 FROM package WHERE from_code = %(from_code)s AND idempotency_key = %(key)s"
TEXT = sa.text(SQL.replace("%(from_code)s", ":from_code").replace("%(key)s", ":key"))
PARAMS = {"from_code": A, "key": "doc:bench:t0"}


def paths(gw: Gateway) -> dict[str, Callable[[], object]]:
    def session() -> object:
        with gw.sessions() as s:
            return s.execute(TEXT, PARAMS).first()

    def connection() -> object:
        with autocommit(gw.engine) as conn:
            return conn.execute(TEXT, PARAMS).first()

    def driver() -> object:
        return run_on_driver(gw.engine, SQL, PARAMS)

    return {"session": session, "autocommit": connection, "driver": driver}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL not reachable (EDOC_TEST_POSTGRES_URL)")
    cpu: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="edoc-bench-db-") as tmp,
        temporary_postgres_database("edoc_bench_db") as url,
    ):
        provision(url, Path(tmp), prefix="db")
        gw = Gateway.from_settings(make_settings(url, Path(tmp)))
        try:
            calls = paths(gw)
            for call in calls.values():  # warm: pool filled, statements prepared by the driver
                for _ in range(50):
                    call()
            calibration = calibration_ms()
            for _ in range(args.rounds):
                for name, call in calls.items():
                    started_cpu, started = time.process_time(), time.perf_counter()
                    for _ in range(args.calls):
                        call()
                    cpu.setdefault(name, []).append((time.process_time() - started_cpu) * 1e6 / args.calls)
                    wall.setdefault(name, []).append((time.perf_counter() - started) * 1e6 / args.calls)
        finally:
            gw.close()
    base = statistics.median(cpu["session"])
    print(f"\none short statement on PostgreSQL, {args.calls} calls x {args.rounds} rounds, medians; "
          f"calibration {calibration:.0f} ms")
    print(f"{'path':<12}{'client CPU us':>15}{'wall us':>10}{'CPU vs session':>16}")
    for name in cpu:
        median = statistics.median(cpu[name])
        print(f"{name:<12}{median:>15.0f}{statistics.median(wall[name]):>10.0f}{median / base:>15.2f}x")


if __name__ == "__main__":
    main()
