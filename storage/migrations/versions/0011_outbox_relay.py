"""The outbox as a broker relay's source, and dead letters one can list (issue 22 items 1 and 2).

``outbox.published_at``: when the ``amqp://`` bus's relay had the broker's confirm for the row (NULL: not yet, or
a retry made it due again); the ``db://`` bus leaves it NULL. ``outbox.dead_at``: when the message was
dead-lettered (after the last retry, a permanent refusal, or the broker's delivery limit); ``done_at`` is set
too, so a dead message is never handed out, and a requeue clears both. The partial index serves the relay's
scan of rows not yet published.

Revision ID: 0011_outbox_relay
Revises: 0010_archive
Create Date: 2026-12-07 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_outbox_relay'
down_revision = '0010_archive'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_outbox_unpublished', 'outbox', ['id'],
        postgresql_where=sa.text('done_at IS NULL AND published_at IS NULL'),
        sqlite_where=sa.text('done_at IS NULL AND published_at IS NULL'),
    )
    op.create_index('ix_outbox_dead', 'outbox', ['dead_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_dead', table_name='outbox')
    op.drop_index('ix_outbox_unpublished', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('dead_at')
        batch.drop_column('published_at')
