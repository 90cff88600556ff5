"""document metadata: title, document date, correspondent, tags, notes (what a person files by)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "correspondents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correspondents")),
        sa.UniqueConstraint("name_key", name=op.f("uq_correspondents_name_key")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("correspondent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("date_suggested", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("correspondent_suggested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_documents_document_date"), ["document_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_correspondent_id"), ["correspondent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_correspondent_id_correspondents"), "correspondents", ["correspondent_id"], ["id"]
        )
    # No foreign key to documents from tags or notes: the purge deletes them with the document (as review_leases).
    op.create_table(
        "document_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_tags")),
        sa.UniqueConstraint("document_id", "tag", name=op.f("uq_document_tags_document_tag")),
    )
    with op.batch_alter_table("document_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_tags_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_tags_tag"), ["tag"], unique=False)
    op.create_table(
        "document_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_document_notes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_notes")),
    )
    with op.batch_alter_table("document_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_notes_document_id"), ["document_id"], unique=False)


def downgrade():
    with op.batch_alter_table("document_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_notes_document_id"))
    op.drop_table("document_notes")
    with op.batch_alter_table("document_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_tags_tag"))
        batch_op.drop_index(batch_op.f("ix_document_tags_document_id"))
    op.drop_table("document_tags")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_documents_correspondent_id_correspondents"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_documents_correspondent_id"))
        batch_op.drop_index(batch_op.f("ix_documents_document_date"))
        batch_op.drop_column("correspondent_suggested")
        batch_op.drop_column("date_suggested")
        batch_op.drop_column("correspondent_id")
        batch_op.drop_column("document_date")
        batch_op.drop_column("title")
    op.drop_table("correspondents")
