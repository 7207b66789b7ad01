"""Initial schema: directory, client systems and keys, packages, deliveries, statuses, exchange log, outbox.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:09:21.972242
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('agency',
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=13), nullable=True),
    sa.Column('email', sa.String(length=100), nullable=True),
    sa.Column('telephone', sa.String(length=20), nullable=True),
    sa.Column('fax', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('website', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agency'))
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_parent_code'), ['parent_code'], unique=False)

    op.create_table('client_system',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('vxp_systemid', sa.String(length=100), nullable=True),
    sa.Column('vxp_secret_sealed', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_system')),
    sa.UniqueConstraint('name', name=op.f('uq_client_system_name')),
    sa.UniqueConstraint('vxp_systemid', name=op.f('uq_client_system_vxp_systemid'))
    )
    op.create_table('exchange_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('package_id', sa.String(length=32), nullable=True),
    sa.Column('document_id', sa.String(length=100), nullable=True),
    sa.Column('agency_code', sa.String(length=13), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_event'))
    )
    with op.batch_alter_table('exchange_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_event_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_event_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_event_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_event_package_id'), ['package_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.String(length=64), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_ready', ['done_at', 'available_at'], unique=False)

    op.create_table('replay_nonce',
    sa.Column('systemid', sa.String(length=100), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('systemid', 'signature', name=op.f('pk_replay_nonce'))
    )
    with op.batch_alter_table('replay_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replay_nonce_expires_at'), ['expires_at'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client_system.id'], name=op.f('fk_api_key_client_id_client_system'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_client_id'), ['client_id'], unique=False)

    op.create_table('client_agency',
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('agency_code', sa.String(length=13), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_client_agency_agency_code_agency')),
    sa.ForeignKeyConstraint(['client_id'], ['client_system.id'], name=op.f('fk_client_agency_client_id_client_system'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', 'agency_code', name=op.f('pk_client_agency'))
    )
    op.create_table('package',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('document_id', sa.String(length=100), nullable=False),
    sa.Column('from_code', sa.String(length=13), nullable=False),
    sa.Column('business_type', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('status_code', sa.String(length=2), nullable=True),
    sa.Column('response_for_id', sa.String(length=32), nullable=True),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('submitted_by', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('signature', sa.JSON(), nullable=False),
    sa.Column('oddities', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_for_id'], ['package.id'], name=op.f('fk_package_response_for_id_package')),
    sa.ForeignKeyConstraint(['submitted_by'], ['client_system.id'], name=op.f('fk_package_submitted_by_client_system')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package')),
    sa.UniqueConstraint('from_code', 'idempotency_key', name=op.f('uq_package_from_code_idempotency_key'))
    )
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_from_code'), ['from_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_response_for_id'), ['response_for_id'], unique=False)

    op.create_table('attachment',
    sa.Column('package_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('verification', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_attachment_package_id_package'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('package_id', 'position', name=op.f('pk_attachment'))
    )
    op.create_table('delivery',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('package_id', sa.String(length=32), nullable=False),
    sa.Column('to_code', sa.String(length=13), nullable=False),
    sa.Column('route', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('business_status', sa.String(length=2), nullable=True),
    sa.Column('recall_state', sa.String(length=16), nullable=True),
    sa.Column('recall_kind', sa.String(length=8), nullable=True),
    sa.Column('remote_doc_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_delivery_package_id_package'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('package_id', 'to_code', name=op.f('uq_delivery_package_id_to_code'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_inbox', ['to_code', 'state', 'delivered_at'], unique=False)

    op.create_table('status_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('package_id', sa.String(length=32), nullable=False),
    sa.Column('agency_code', sa.String(length=13), nullable=False),
    sa.Column('code', sa.String(length=2), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('staff', sa.JSON(), nullable=True),
    sa.Column('status_package_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_status_entry_package_id_package'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_package_id'], ['package.id'], name=op.f('fk_status_entry_status_package_id_package')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_entry'))
    )
    with op.batch_alter_table('status_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_entry_package_id'), ['package_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('status_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_entry_package_id'))

    op.drop_table('status_entry')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_inbox')

    op.drop_table('delivery')
    op.drop_table('attachment')
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_response_for_id'))
        batch_op.drop_index(batch_op.f('ix_package_from_code'))
        batch_op.drop_index(batch_op.f('ix_package_document_id'))
        batch_op.drop_index(batch_op.f('ix_package_created_at'))

    op.drop_table('package')
    op.drop_table('client_agency')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_client_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('replay_nonce', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replay_nonce_expires_at'))

    op.drop_table('replay_nonce')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_ready')

    op.drop_table('outbox')
    with op.batch_alter_table('exchange_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_event_package_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_event_kind'))
        batch_op.drop_index(batch_op.f('ix_exchange_event_document_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_event_at'))
        batch_op.drop_index(batch_op.f('ix_exchange_event_agency_code'))

    op.drop_table('exchange_event')
    op.drop_table('client_system')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_parent_code'))

    op.drop_table('agency')

