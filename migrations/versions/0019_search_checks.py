"""search checks: each check of the search index against the database, with the drift it found and repaired

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 18:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('took_ms', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('extra', sa.Integer(), nullable=False),
    sa.Column('stale', sa.Integer(), nullable=False),
    sa.Column('repaired', sa.Integer(), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('unrepaired', sa.Integer(), nullable=False),
    sa.Column('problem', sa.String(length=500), nullable=True),
    sa.Column('drifted', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_checks'))
    )
    with op.batch_alter_table('search_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_checks_started_at'), ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('search_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_checks_started_at'))

    op.drop_table('search_checks')
