"""Migration 0005 on a database that already holds the same document twice (issue 17, item 1, before the fix):
the earliest package of each (sender, DocumentId) takes the document key, later duplicates keep NULL, the unique
index is built, and from then on a third copy is refused by the database itself; down and up again work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from storage.db import create_engine
from storage.migrate import alembic_config, upgrade

_PACKAGE = sa.text(
    "INSERT INTO package (id, kind, document_id, from_code, business_type, blob_sha256, size, request_sha256,"
    " idempotency_key, channel, summary, signature, oddities, created_at)"
    " VALUES (:id, :kind, :doc, '000.00.11.H53', :bt, 'ab', 1, :sha, :key, 'api', '{}', '{}', '[]', :at)"
)


def test_legacy_duplicates_keep_their_rows_and_the_first_takes_the_key(empty_database_url: str) -> None:
    from alembic import command

    upgrade(empty_database_url, "0004")
    engine = create_engine(empty_database_url)
    start = datetime(2026, 12, 1, tzinfo=UTC).replace(tzinfo=None)
    rows = [  # (id, kind, document id, business type, minutes after start)
        ("p2", "edoc", "D1", 0, 2), ("p1", "edoc", "D1", 0, 1), ("p3", "edoc", "D2", 0, 3),
        ("u1", "edoc", "D1", 2, 4), ("s1", "status", "D1", 0, 5),
    ]
    try:
        with engine.begin() as conn:
            for pid, kind, doc, bt, minutes in rows:
                at = start + timedelta(minutes=minutes)
                params = {"id": pid, "kind": kind, "doc": doc, "bt": bt, "sha": pid, "key": pid, "at": at}
                conn.execute(_PACKAGE, params)
        upgrade(empty_database_url)
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.text("SELECT id, document_key FROM package")).all())
        assert keys == {"p1": "D1", "p2": None, "p3": "D2", "u1": None, "s1": None}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(_PACKAGE, {"id": "p4", "kind": "edoc", "doc": "D1", "bt": 0, "sha": "p4", "key": "p4",
                                    "at": start})
            conn.execute(sa.text("UPDATE package SET document_key = 'D1' WHERE id = 'p4'"))
        command.downgrade(alembic_config(empty_database_url), "0004")
        upgrade(empty_database_url)
    finally:
        engine.dispose()
