"""Remote signatures waiting for an official's confirmation (issue 23): ``remote_signing``.

One row per signing transaction: the provider and credential, the provider's transaction id, the prepared
signature's state (JSON) and the prepared PDF's blob address, the status (starting, pending, done, rejected,
expired, failed), the client that asked, an optional webhook, the signed PDF's blob address, and a claim so that
one poller at a time asks the provider. Kept in the database because a confirmation takes minutes and the
gateway may restart meanwhile.

Revision ID: 0007_remote_signing
Revises: 0006_key_rotation
Create Date: 2026-12-07 18:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007_remote_signing'
down_revision = '0006_key_rotation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'remote_signing',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('provider', sa.String(64), nullable=False),
        sa.Column('credential_id', sa.String(300), nullable=False),
        sa.Column('provider_tx', sa.String(400), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('error_code', sa.String(64), nullable=True),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('prepared_sha256', sa.String(64), nullable=False),
        sa.Column('prepared_size', sa.Integer(), nullable=False),
        sa.Column('result_sha256', sa.String(64), nullable=True),
        sa.Column('result_size', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.String(32), nullable=True),
        sa.Column('webhook_url', sa.String(2000), nullable=True),
        sa.Column('webhook_state', sa.String(16), nullable=True),
        sa.Column('polls', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(64), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_signing')),
    )
    op.create_index('ix_remote_signing_due', 'remote_signing', ['status', 'next_poll_at'])
    op.create_index(op.f('ix_remote_signing_client_id'), 'remote_signing', ['client_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_remote_signing_client_id'), table_name='remote_signing')
    op.drop_index('ix_remote_signing_due', table_name='remote_signing')
    op.drop_table('remote_signing')
