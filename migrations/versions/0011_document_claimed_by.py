"""documents remember the consumer that claimed them (the sweeper asks its heartbeat)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
