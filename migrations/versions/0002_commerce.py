"""commerce

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:31:31.766111

Stores, products, orders, group buys, offline merchants, QR codes, partner services,
conversations and access tokens.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_token',
    sa.Column('token', sa.String(length=200), nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_access_token'))
    )
    op.create_index(op.f('ix_access_token_expires_at'), 'access_token', ['expires_at'], unique=False)
    op.create_table('qr_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket', sa.String(length=200), nullable=False),
    sa.Column('action_name', sa.String(length=32), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('expire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qr_code')),
    sa.UniqueConstraint('ticket', name=op.f('uq_qr_code_ticket'))
    )
    op.create_index(op.f('ix_qr_code_scene'), 'qr_code', ['scene'], unique=False)
    op.create_table('conversation',
    sa.Column('fan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fan_id'], ['fan.id'], name=op.f('fk_conversation_fan_id_fan')),
    sa.PrimaryKeyConstraint('fan_id', name=op.f('pk_conversation'))
    )
    op.create_table('merchant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_merchant_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant')),
    sa.UniqueConstraint('code', name=op.f('uq_merchant_code')),
    sa.UniqueConstraint('scene', name=op.f('uq_merchant_scene'))
    )
    op.create_table('partner_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('page_path', sa.String(length=200), nullable=False),
    sa.Column('icon_url', sa.String(length=500), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('commission_bps', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('commission_bps >= 0 AND commission_bps <= 10000', name=op.f('ck_partner_service_commission')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_partner_service_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_service'))
    )
    op.create_table('store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_fan_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('cover_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_store_account_id_account')),
    sa.ForeignKeyConstraint(['owner_fan_id'], ['fan.id'], name=op.f('fk_store_owner_fan_id_fan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store')),
    sa.UniqueConstraint('owner_fan_id', name=op.f('uq_store_owner_fan_id'))
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('supplier_product_id', sa.Integer(), nullable=True),
    sa.Column('group_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('group_size', sa.Integer(), nullable=True),
    sa.Column('group_hours', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('group_price_fen IS NULL OR group_price_fen > 0', name=op.f('ck_product_group_price')),
    sa.CheckConstraint('group_size IS NULL OR group_size >= 2', name=op.f('ck_product_group_size')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_product_price')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_product_stock')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_product_store_id_store')),
    sa.ForeignKeyConstraint(['supplier_product_id'], ['product.id'], name=op.f('fk_product_supplier_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product'))
    )
    op.create_index('ix_product_created_at_id', 'product', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_product_store_id'), 'product', ['store_id'], unique=False)
    op.create_index(op.f('ix_product_supplier_product_id'), 'product', ['supplier_product_id'], unique=False)
    op.create_table('group_buy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('leader_fan_id', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('joined', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'completed', 'failed')", name=op.f('ck_group_buy_status')),
    sa.CheckConstraint('size >= 2', name=op.f('ck_group_buy_size')),
    sa.ForeignKeyConstraint(['leader_fan_id'], ['fan.id'], name=op.f('fk_group_buy_leader_fan_id_fan')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_group_buy_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy'))
    )
    op.create_index(op.f('ix_group_buy_deadline_at'), 'group_buy', ['deadline_at'], unique=False)
    op.create_table('group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('fan_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fan_id'], ['fan.id'], name=op.f('fk_group_member_fan_id_fan')),
    sa.ForeignKeyConstraint(['group_id'], ['group_buy.id'], name=op.f('fk_group_member_group_id_group_buy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_member')),
    sa.UniqueConstraint('group_id', 'fan_id', name=op.f('uq_group_member_group_id_fan_id')),
    sa.UniqueConstraint('key', name=op.f('uq_group_member_key'))
    )
    op.create_index(op.f('ix_group_member_group_id'), 'group_member', ['group_id'], unique=False)
    op.create_table('order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('buyer_fan_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('supplier_product_id', sa.Integer(), nullable=False),
    sa.Column('supplier_store_id', sa.Integer(), nullable=False),
    sa.Column('affiliate_store_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('supplier_unit_fen', sa.BigInteger(), nullable=False),
    sa.Column('discount_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('paid', 'shipped', 'completed', 'cancelled')", name=op.f('ck_order_status')),
    sa.CheckConstraint('discount_fen >= 0', name=op.f('ck_order_discount')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_order_qty')),
    sa.CheckConstraint('total_fen >= 0', name=op.f('ck_order_total')),
    sa.ForeignKeyConstraint(['affiliate_store_id'], ['store.id'], name=op.f('fk_order_affiliate_store_id_store')),
    sa.ForeignKeyConstraint(['buyer_fan_id'], ['fan.id'], name=op.f('fk_order_buyer_fan_id_fan')),
    sa.ForeignKeyConstraint(['group_id'], ['group_buy.id'], name=op.f('fk_order_group_id_group_buy')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_product_id_product')),
    sa.ForeignKeyConstraint(['supplier_product_id'], ['product.id'], name=op.f('fk_order_supplier_product_id_product')),
    sa.ForeignKeyConstraint(['supplier_store_id'], ['store.id'], name=op.f('fk_order_supplier_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order')),
    sa.UniqueConstraint('key', name=op.f('uq_order_key'))
    )
    op.create_index(op.f('ix_order_affiliate_store_id'), 'order', ['affiliate_store_id'], unique=False)
    op.create_index(op.f('ix_order_buyer_fan_id'), 'order', ['buyer_fan_id'], unique=False)
    op.create_index(op.f('ix_order_group_id'), 'order', ['group_id'], unique=False)
    op.create_index(op.f('ix_order_supplier_store_id'), 'order', ['supplier_store_id'], unique=False)
    # Order payments wait in the platform's escrow account until the order completes.
    account = sa.table(
        'account',
        sa.column('kind', sa.String),
        sa.column('name', sa.String),
        sa.column('balance_fen', sa.BigInteger),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        account,
        [{'kind': 'escrow', 'name': 'escrow', 'balance_fen': 0, 'created_at': datetime(2026, 1, 1, tzinfo=UTC)}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM account WHERE kind = 'escrow'")
    op.drop_index(op.f('ix_order_supplier_store_id'), table_name='order')
    op.drop_index(op.f('ix_order_group_id'), table_name='order')
    op.drop_index(op.f('ix_order_buyer_fan_id'), table_name='order')
    op.drop_index(op.f('ix_order_affiliate_store_id'), table_name='order')
    op.drop_table('order')
    op.drop_index(op.f('ix_group_member_group_id'), table_name='group_member')
    op.drop_table('group_member')
    op.drop_index(op.f('ix_group_buy_deadline_at'), table_name='group_buy')
    op.drop_table('group_buy')
    op.drop_index(op.f('ix_product_supplier_product_id'), table_name='product')
    op.drop_index(op.f('ix_product_store_id'), table_name='product')
    op.drop_index('ix_product_created_at_id', table_name='product')
    op.drop_table('product')
    op.drop_table('store')
    op.drop_table('partner_service')
    op.drop_table('merchant')
    op.drop_table('conversation')
    op.drop_index(op.f('ix_qr_code_scene'), table_name='qr_code')
    op.drop_table('qr_code')
    op.drop_index(op.f('ix_access_token_expires_at'), table_name='access_token')
    op.drop_table('access_token')
