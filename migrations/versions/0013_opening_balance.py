"""opening balances in the ledger; SKUs unique whatever their case (products.sku_key)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_BEFORE = ('received', 'returned', 'damaged', 'expired', 'used', 'correction', 'order', 'order_cancelled', 'count')
_AFTER = (*_BEFORE, 'opening_balance')


def _reasons(values):
    return "reason IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint('reason_known', type_='check')
        batch_op.create_check_constraint('reason_known', _reasons(_AFTER))
    # SKUs name one product whatever their case: a lower-case copy, unique. Two existing SKUs that differ
    # only in case stop this migration at the unique constraint: rename one of them first.
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sku_key', sa.String(length=64), nullable=True))
    op.execute("UPDATE products SET sku_key = lower(trim(sku))")
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('sku_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_products_sku_key'), ['sku_key'])


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_products_sku_key'), type_='unique')
        batch_op.drop_column('sku_key')
    # Kept as corrections, so every product's on-hand still equals the sum of its ledger rows.
    op.execute("UPDATE stock_movements SET reason = 'correction' WHERE reason = 'opening_balance'")
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint('reason_known', type_='check')
        batch_op.create_check_constraint('reason_known', _reasons(_BEFORE))
