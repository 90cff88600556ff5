"""memory of reviewed documents: one vector per reviewed document, so the next similar one is suggested its category

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # Only the text's vector: which category and whose decision it stands for is the document's latest review,
    # read joined, so an undone review or a deleted document needs nothing here. Rows for the documents reviewed
    # before this migration are added by the first worker that loads the memory (app.classify.memory.backfill).
    # No foreign key to documents (as review_leases): a purged document's row is inert (read only joined to a live
    # document), so the purge need not know this table; the memory's backfill clears such rows.
    op.create_table('memory_entries',
    sa.Column('document_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('scheme', sa.String(length=32), nullable=False),
    sa.Column('held_out', sa.Boolean(), nullable=False),
    sa.Column('features', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_memory_entries'))
    )


def downgrade():
    op.drop_table('memory_entries')
