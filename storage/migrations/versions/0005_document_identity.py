"""One new document per (sender, DocumentId): ``package.document_key`` (unique with ``from_code``) and
``package.content_sha256`` (what a resend is compared on), and an index of requests per sender.

``document_key`` is the DocumentId of a new document (BussinessDocType 0) and NULL for every other package
(statuses, recalls, updates, replacements), so only new documents are constrained; a NULL never collides on
SQLite or PostgreSQL. Existing rows are backfilled: the earliest package of each (sender, DocumentId) gets the
key; later duplicates accepted before this revision (issue 17 item 1: the same document twice) keep NULL, so the
unique index can be built on a database that already holds them, and they stay readable as they were.
``content_sha256`` stays NULL on old rows: a resend of one of those is recognised by its request digest only.

``ix_package_request`` (from_code, request_sha256) lets a native submit whose header has no date find the day it
was first submitted, so its derived DocumentId is the same on a resend the next day (service/exchange/identity.py).

Revision ID: 0005_document_identity
Revises: 0004
Create Date: 2026-12-07 15:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_document_identity'
down_revision = '0004'
branch_labels = None
depends_on = None

_BACKFILL = sa.text(
    """
    UPDATE package SET document_key = document_id
    WHERE kind = 'edoc' AND business_type = 0 AND NOT EXISTS (
        SELECT 1 FROM package AS older
        WHERE older.kind = 'edoc' AND older.business_type = 0 AND older.from_code = package.from_code
          AND older.document_id = package.document_id
          AND (older.created_at < package.created_at OR (older.created_at = package.created_at AND older.id < package.id))
    )
    """
)


def upgrade() -> None:
    op.add_column('package', sa.Column('document_key', sa.String(length=100), nullable=True))
    op.add_column('package', sa.Column('content_sha256', sa.String(length=64), nullable=True))
    op.get_bind().execute(_BACKFILL)
    op.create_index('uq_package_document_key', 'package', ['from_code', 'document_key'], unique=True)
    op.create_index('ix_package_request', 'package', ['from_code', 'request_sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_package_request', table_name='package')
    op.drop_index('uq_package_document_key', table_name='package')
    with op.batch_alter_table('package') as batch:
        batch.drop_column('content_sha256')
        batch.drop_column('document_key')
