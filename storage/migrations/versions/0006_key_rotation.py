"""Keys that can be rotated with a grace period (issue 17 item 5).

``api_key.expires_at``: a key replaced by ``edoc client rotate`` keeps working until then (NULL: no end; a revoked
key has ``revoked_at``). ``client_system.vxp_previous_secret_sealed`` / ``vxp_previous_secret_expires_at``: the VXP
secret a rotation replaced, still accepted until then, so a DMS can be reconfigured without an outage. Disabling a
client system (``active``) stops all its keys and its VXP secret at once; that column exists since 0001.

Revision ID: 0006_key_rotation
Revises: 0005_document_identity
Create Date: 2026-12-07 15:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_key_rotation'
down_revision = '0005_document_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_key') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('client_system') as batch:
        batch.add_column(sa.Column('vxp_previous_secret_sealed', sa.Text(), nullable=True))
        batch.add_column(sa.Column('vxp_previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client_system') as batch:
        batch.drop_column('vxp_previous_secret_expires_at')
        batch.drop_column('vxp_previous_secret_sealed')
    with op.batch_alter_table('api_key') as batch:
        batch.drop_column('expires_at')
