"""Small blobs in the database: status packages, small packages and attachments, verification reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 06:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('small_blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_small_blob'))
    )


def downgrade() -> None:
    # Blobs kept here would be lost: refuse unless the table is empty (move them to the object store first).
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM small_blob")).scalar()
    if count:
        raise RuntimeError(f"small_blob holds {count} blobs; copy them to the object store before downgrading")
    op.drop_table('small_blob')
