"""The transparency log (issue 21): every exchange-log event is a leaf of an RFC 9162 Merkle tree.

``exchange_event.leaf_index``, the event's position in the log. SQLite (one writer at a time): a trigger assigns it
in the transaction that inserts the event, from the single row of ``tlog_counter``, whatever code path writes the
event. PostgreSQL: the sequencer assigns it, in id order, in the transaction that integrates the event into the
tree; ``ix_exchange_event_unlogged`` (partial: ``leaf_index IS NULL``) finds the events still waiting. A trigger
there would serialise every writer's commit, fsync included, on the counter row and cost the exchange most of
its group commit (docs/evidence.md has the figures). Either way: no gap, no duplicate, every committed event
exactly one leaf. Events already there get their indexes in id order. ``tlog_state`` (one row: the tree integrated into tiles and its latest checkpoint),
``tlog_checkpoint`` (every checkpoint cut) and ``tlog_tile`` (tile path -> blob in the object store) belong to the
sequencer (service/exchange/tlog.py).

Revision ID: 0009_tlog
Revises: 0008_event_search
Create Date: 2026-12-07 18:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_tlog'
down_revision = '0008_event_search'
branch_labels = None
depends_on = None

EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'  # SHA-256 of nothing
_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")

SQLITE_TRIGGER = """
CREATE TRIGGER tlog_leaf AFTER INSERT ON exchange_event BEGIN
    UPDATE exchange_event SET leaf_index = (SELECT next_index FROM tlog_counter WHERE id = 1) WHERE id = NEW.id;
    UPDATE tlog_counter SET next_index = next_index + 1 WHERE id = 1;
END
"""


def upgrade() -> None:
    with op.batch_alter_table('exchange_event') as batch:
        batch.add_column(sa.Column('leaf_index', _BIG, nullable=True))
        batch.create_index('ix_exchange_event_leaf_index', ['leaf_index'], unique=True)
        batch.create_index('ix_exchange_event_unlogged', ['id'], postgresql_where=sa.text('leaf_index IS NULL'),
                           sqlite_where=sa.text('leaf_index IS NULL'))
    op.create_table(
        'tlog_counter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('next_index', _BIG, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'tlog_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('size', _BIG, nullable=False),
        sa.Column('root', sa.String(64), nullable=False),
        sa.Column('checkpoint', sa.Text(), nullable=True),
        sa.Column('cosigned', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'tlog_checkpoint',
        sa.Column('size', _BIG, nullable=False),
        sa.Column('root', sa.String(64), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('cosigned', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('size'),
    )
    op.create_table(
        'tlog_tile',
        sa.Column('path', sa.String(200), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('path'),
    )
    # The events already logged, in id order; the counter continues after them.
    op.execute(
        "UPDATE exchange_event SET leaf_index = numbered.n FROM "
        "(SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n FROM exchange_event) AS numbered "
        "WHERE exchange_event.id = numbered.id"
    )
    op.execute("INSERT INTO tlog_counter (id, next_index) SELECT 1, COUNT(*) FROM exchange_event")
    op.execute(
        "INSERT INTO tlog_state (id, size, root, updated_at) "
        f"VALUES (1, 0, '{EMPTY_ROOT}', CURRENT_TIMESTAMP)"
    )
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS tlog_leaf")
    op.drop_table('tlog_tile')
    op.drop_table('tlog_checkpoint')
    op.drop_table('tlog_state')
    op.drop_table('tlog_counter')
    with op.batch_alter_table('exchange_event') as batch:
        batch.drop_index('ix_exchange_event_unlogged')
        batch.drop_index('ix_exchange_event_leaf_index')
        batch.drop_column('leaf_index')
