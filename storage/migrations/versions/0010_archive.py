"""The archive (issue 20 items 2-5): one AIP per exchanged document, its copies, its fixity checks.

``aip``: one row per document package (``package_id`` unique), created ``pending`` by the worker's sweep together
with the ``archive`` bus message, ``complete`` once every copy is written (service/archive/). ``aip_copy``: one row
per AIP and archive store (the store URL without credentials), with every file's path, SHA-256 and size; written
in the transaction that marks the AIP complete, so a worker killed while writing leaves no copy row at all.
``fixity_check``: one row per audit of one copy.

Revision ID: 0010_archive
Revises: 0009_tlog
Create Date: 2026-12-07 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_archive'
down_revision = '0009_tlog'
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'aip',
        sa.Column('id', sa.String(45), primary_key=True),
        sa.Column('package_id', sa.String(32), sa.ForeignKey('package.id', name='fk_aip_package_id_package'),
                  nullable=False),
        sa.Column('document_id', sa.String(100), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('retention', sa.String(30), nullable=False),
        sa.Column('retain_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('permanent', sa.Boolean(), nullable=False),
        sa.Column('manifest_sha256', sa.String(64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('package_id', name='uq_aip_package_id'),
    )
    op.create_index('ix_aip_state', 'aip', ['state'])
    op.create_index('ix_aip_document_id', 'aip', ['document_id'])
    op.create_table(
        'aip_copy',
        sa.Column('aip_id', sa.String(45), sa.ForeignKey('aip.id', name='fk_aip_copy_aip_id_aip', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('store_url', sa.String(500), primary_key=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_aip_copy_checked_at', 'aip_copy', ['checked_at'])
    op.create_table(
        'fixity_check',
        sa.Column('id', _BIGINT, primary_key=True, autoincrement=True),
        sa.Column('aip_id', sa.String(45), sa.ForeignKey('aip.id', name='fk_fixity_check_aip_id_aip', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('store_url', sa.String(500), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('files_checked', sa.Integer(), nullable=False),
        sa.Column('bytes_checked', _BIGINT, nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
    )
    op.create_index('ix_fixity_check_aip_id', 'fixity_check', ['aip_id'])


def downgrade() -> None:
    op.drop_table('fixity_check')
    op.drop_table('aip_copy')
    op.drop_table('aip')
