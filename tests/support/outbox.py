"""What the delivery worker's claim costs PostgreSQL, for the test of the outbox's partial index
(tests/integration/test_claim_pending_index.py). bench/claim_history.py used it too until 2026-12-07; its figures
are in docs/performance.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from storage.exchange.outbox import CLAIM_IN_ONE_STATEMENT, claim_parameters
from storage.models import utcnow

_EXPLAIN = sa.text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + CLAIM_IN_ONE_STATEMENT.text)


def maintain(engine: sa.Engine, statement: str) -> None:
    """Run ``statement`` (ANALYZE, VACUUM, DROP INDEX …) in autocommit."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(statement))


def explain_claim(engine: sa.Engine, limit: int = 100) -> tuple[float, int]:
    """One claiming statement of up to ``limit`` messages under EXPLAIN ANALYZE, in a transaction rolled back:
    PostgreSQL's execution time (ms) and the shared buffers it touched."""
    params: dict[str, Any] = claim_parameters(limit, worker="explain", lease=timedelta(seconds=30), now=utcnow())
    with engine.connect() as conn:
        plan = conn.execute(_EXPLAIN, params).scalar_one()[0]
        conn.rollback()
    top = plan["Plan"]
    return float(plan["Execution Time"]), int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
