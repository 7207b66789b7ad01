"""Indexes for auditor search over the exchange log (issue 21 item 6, storage/events.py).

Every filter of ``GET /api/v1/events`` pages in ``(at, id)`` order, so each gets a composite index ending in
``(at, id)``: a filtered page then reads ``limit`` index entries whichever way it is sorted. ``detail.status_code``
is indexed as an expression (the writers of the log are unchanged); its text must equal
``storage.events.status_code_expression``.

Free text on the subject (trích yếu) and "số/ký hiệu": on PostgreSQL, ``pg_trgm`` GIN indexes when
``CREATE EXTENSION pg_trgm`` is allowed (a trusted extension since PostgreSQL 13: the database owner may create it).
If it is not, the migration goes on without them and the text filter scans the package table (documented in
docs/performance.md); an operator can create the extension and run ``edoc db upgrade`` of a later revision, or
create the two indexes by hand with the statements below.

Revision ID: 0008_event_search
Revises: 0007_remote_signing
Create Date: 2026-12-07 18:20:00
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = '0008_event_search'
down_revision = '0007_remote_signing'
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_PG_STATUS = "(detail ->> 'status_code')"
_SQLITE_STATUS = "json_extract(detail, '$.status_code')"
_PG_CODE = (
    "(coalesce(summary ->> 'code_number', '') || '/' || coalesce(summary ->> 'code_notation', ''))"
)
_PLAIN = (
    ("ix_event_at_id", "at, id"),
    ("ix_event_kind_at", "kind, at, id"),
    ("ix_event_agency_at", "agency_code, at, id"),
    ("ix_event_document_at", "document_id, at, id"),
    ("ix_event_package_at", "package_id, at, id"),
)
#: 0001's single-column indexes, each now the prefix of one above (fewer indexes on the log's hot insert)
_REPLACED = (
    ("ix_exchange_event_at", "at"),
    ("ix_exchange_event_kind", "kind"),
    ("ix_exchange_event_agency_code", "agency_code"),
    ("ix_exchange_event_document_id", "document_id"),
    ("ix_exchange_event_package_id", "package_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for name, columns in _PLAIN:
        op.execute(f"CREATE INDEX {name} ON exchange_event ({columns})")
    for name, _column in _REPLACED:
        op.execute(f"DROP INDEX {name}")
    status = _PG_STATUS if postgres else _SQLITE_STATUS
    op.execute(f"CREATE INDEX ix_event_status_at ON exchange_event ({status}, at, id)")
    op.execute("CREATE INDEX ix_delivery_to_package ON delivery (to_code, package_id)")
    if postgres and _trigram_available(bind):
        op.execute("CREATE INDEX ix_package_subject_trgm ON package USING gin (subject gin_trgm_ops)")
        op.execute(f"CREATE INDEX ix_package_code_trgm ON package USING gin ({_PG_CODE} gin_trgm_ops)")


def _trigram_available(bind: sa.Connection) -> bool:
    """Create ``pg_trgm`` if it is not there; False (and a warning) when this role may not."""
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        logger.warning("pg_trgm not available (%s): free-text event search runs without trigram indexes",
                       str(exc.orig).splitlines()[0] if exc.orig else exc)
        return False
    savepoint.commit()
    return True


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_package_code_trgm")
    op.execute("DROP INDEX IF EXISTS ix_package_subject_trgm")
    op.execute("DROP INDEX IF EXISTS ix_delivery_to_package")
    op.execute("DROP INDEX IF EXISTS ix_event_status_at")
    for name, column in _REPLACED:
        op.execute(f"CREATE INDEX {name} ON exchange_event ({column})")
    for name, _columns in reversed(_PLAIN):
        op.execute(f"DROP INDEX IF EXISTS {name}")
