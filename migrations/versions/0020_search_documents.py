"""search on PostgreSQL: each indexed document's words as tsvectors, and the word list "did you mean" reads

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 21:30:00.000000

The tables exist on every database (one schema), but only PostgreSQL fills them (QM_SEARCH_BACKEND=postgres).
The PostgreSQL-only parts are made only there: pg_trgm and unaccent (trusted extensions from PostgreSQL 13,
so the database owner may create them), the text search configurations qm_english and qm_simple that fold
accents, and the GIN indexes. The downgrade leaves the extensions in place (other things may use them).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

VECTOR = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        for name, copied, dictionary in (("qm_english", "english", "english_stem"), ("qm_simple", "simple", "simple")):
            op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
            op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {copied})")
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {name} "
                f"ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {dictionary}"
            )
    op.create_table('search_documents',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('stemmed', VECTOR, nullable=False),
    sa.Column('exact', VECTOR, nullable=False),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('review', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('uploader', sa.String(length=320), nullable=True),
    sa.Column('tags', sa.Text(), nullable=True),
    sa.Column('correspondent', sa.String(length=200), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_search_documents_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_search_documents'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index(
            'ix_search_documents_stemmed', ['stemmed'], unique=False,
            postgresql_using='gin', postgresql_with={'fastupdate': 'off'},
        )
        batch_op.create_index('ix_search_documents_uploaded_at', ['uploaded_at'], unique=False)

    op.create_table('search_words',
    sa.Column('word', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words'))
    )
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.create_index(
            'ix_search_words_trigrams', ['word'], unique=False,
            postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'},
        )


def downgrade():
    with op.batch_alter_table('search_words', schema=None) as batch_op:
        batch_op.drop_index('ix_search_words_trigrams')
    op.drop_table('search_words')
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_search_documents_uploaded_at')
        batch_op.drop_index('ix_search_documents_stemmed')
    op.drop_table('search_documents')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS qm_simple")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS qm_english")
