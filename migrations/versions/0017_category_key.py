"""category key: what the models answer with, apart from the name people see (categories can be renamed)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 17:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
    # Every model trained so far answers with the names as they are now.
    op.execute("UPDATE categories SET key = name")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_categories_key"), ["key"])


def downgrade():
    # A renamed category takes back the name its models know it by.
    op.execute("UPDATE categories SET name = key")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_categories_key"), type_="unique")
        batch_op.drop_column("key")
