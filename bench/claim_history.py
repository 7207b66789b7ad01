"""What one claim of the delivery worker costs PostgreSQL as the outbox's completed history grows, with and
without the partial index of pending messages (migration 0004, ``ix_outbox_pending``).

    .venv/bin/python bench/claim_history.py [--sizes 0,20000,100000,300000] [--claims 30]

For each history size, a fresh migrated database gets that many completed messages and 50 ready ones. The
completed ones were a backlog when the statistics were last taken (ANALYZE while they were pending, then they were
marked done and vacuumed), the state autovacuum leaves after an outage of a remote route has been worked off.
Then the claiming statement (service/exchange/delivery.py) runs ``--claims`` times under EXPLAIN ANALYZE,
each in a transaction rolled back, first with the index, then after dropping it; then once more with fresh
statistics (ANALYZE) without the index. Printed: the median execution time PostgreSQL reports, and the shared
buffers each claim touched. The retention keeps completed messages seven days by default: at 100 documents/s
(about 4 messages a document) that is some 240 million rows; at 5,000 documents a day, some 140,000.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from storage.migrate import upgrade
from tests.support.databases import postgres_available, temporary_postgres_database
from tests.support.outbox import explain_claim, maintain

READY = 50


def _fill(engine: sa.Engine, history: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO outbox (topic, payload, created_at, available_at, attempts) "
            "SELECT 'deliver', '{\"delivery_id\": \"gone\"}'::json, now() - interval '1 day', "
            "now() - interval '1 day', 0 FROM generate_series(1, :n)"
        ), {"n": history})
    maintain(engine, "ANALYZE outbox")  # the statistics of the backlog
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE outbox SET done_at = now() - interval '1 hour'"))
        conn.execute(sa.text(
            "INSERT INTO outbox (topic, payload, created_at, available_at, attempts) "
            "SELECT 'deliver', '{\"delivery_id\": \"gone\"}'::json, now(), now(), 0 FROM generate_series(1, :n)"
        ), {"n": READY})
    maintain(engine, "VACUUM outbox")


def _claims(engine: sa.Engine, count: int) -> tuple[float, float]:
    """Median execution time (ms) and shared buffers of ``count`` claims of up to 100 messages."""
    runs = [explain_claim(engine) for _ in range(count)]
    return statistics.median(ms for ms, _ in runs), statistics.median(pages for _, pages in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,20000,100000,300000")
    parser.add_argument("--claims", type=int, default=30)
    args = parser.parse_args()
    if not postgres_available():
        sys.exit("PostgreSQL is not reachable (EDOC_TEST_POSTGRES_URL)")
    print("completed messages   with ix_outbox_pending   without, statistics of the backlog   without, fresh "
          "statistics")
    for history in (int(s) for s in args.sizes.split(",")):
        with temporary_postgres_database("edoc_claim") as url:
            upgrade(url)
            engine = sa.create_engine(url)
            try:
                _fill(engine, history)
                indexed = _claims(engine, args.claims)
                maintain(engine, "DROP INDEX ix_outbox_pending")
                stale = _claims(engine, args.claims)
                maintain(engine, "ANALYZE outbox")
                fresh = _claims(engine, args.claims)
            finally:
                engine.dispose()
        cells = "".join(f"{ms:>12.2f} ms {pages:>7.0f} pages" for ms, pages in (indexed, stale, fresh))
        print(f"{history:>18,}{cells}")


if __name__ == "__main__":
    main()
