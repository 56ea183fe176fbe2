"""final documents: the seal's fingerprint; the PDF may follow the final state

Revision ID: 82b95dafe080
Revises: b63f22818537
Create Date: 2026-12-01 08:33:23.755136

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '82b95dafe080'
down_revision = 'b63f22818537'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows keep an empty seal fingerprint: `flask seal init` or `seal check` reads it
    # from their PDFs.
    with op.batch_alter_table('final_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_fingerprint', sa.String(length=64), nullable=True))
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    unrendered = op.get_bind().scalar(
        sa.text('SELECT count(*) FROM final_documents WHERE pdf IS NULL')
    )
    if unrendered:
        raise RuntimeError(
            f'{unrendered} final agreements have no PDF yet: run `flask signing finish` first'
        )
    with op.batch_alter_table('final_documents', schema=None) as batch_op:
        batch_op.alter_column('pdf', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('seal_fingerprint')
