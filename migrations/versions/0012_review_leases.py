"""review leases, skips and undo: who holds a queue item, what a reviewer skipped, what a review replaced

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # A review remembers what the document was before it, so undo can put that back. An undone review is deleted
    # (its audit rows keep the history): every reader of `reviews` (training, acceptance rates) takes a row as a
    # person's decision.
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_category_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_review_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('previous_review_reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_reviews_previous_category_id_categories'), 'categories', ['previous_category_id'], ['id']
        )
        batch_op.create_index(batch_op.f('ix_reviews_user_id'), ['user_id'], unique=False)

    # One row per document a reviewer holds; the primary key makes two holders of one document impossible.
    # No foreign key to documents (here or in review_skips): these rows are only ever read joined to a live document,
    # so a purged document's rows are inert, and the purge (trash._delete_row) need not know these tables.
    op.create_table('review_leases',
    sa.Column('document_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_leases_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_review_leases'))
    )
    with op.batch_alter_table('review_leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_leases_user_id'), ['user_id'], unique=False)

    # A skipped document goes to the end of that reviewer's queue, ordered by when it was skipped.
    op.create_table('review_skips',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('skipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_skips_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'document_id', name=op.f('pk_review_skips'))
    )


def downgrade():
    op.drop_table('review_skips')
    with op.batch_alter_table('review_leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_leases_user_id'))
    op.drop_table('review_leases')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_user_id'))
        batch_op.drop_constraint(batch_op.f('fk_reviews_previous_category_id_categories'), type_='foreignkey')
        batch_op.drop_column('previous_review_reason')
        batch_op.drop_column('previous_review_state')
        batch_op.drop_column('previous_category_id')
