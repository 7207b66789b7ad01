"""VXP: routing rules set through the admin API, and packages taken in from uplinks (by remote docId).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:24:26.826718
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('route_rule',
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('pattern', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_route_rule'))
    )
    op.create_table('uplink_receipt',
    sa.Column('uplink', sa.String(length=64), nullable=False),
    sa.Column('remote_doc_id', sa.String(length=100), nullable=False),
    sa.Column('package_id', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('uplink', 'remote_doc_id', name=op.f('pk_uplink_receipt'))
    )


def downgrade() -> None:
    op.drop_table('uplink_receipt')
    op.drop_table('route_rule')
