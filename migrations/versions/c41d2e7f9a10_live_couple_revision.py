"""live channel: one revision per couple, and the revision at which each part last moved

Revision ID: c41d2e7f9a10
Revises: b526e6d6f639
Create Date: 2026-12-01 17:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41d2e7f9a10'
down_revision = 'b526e6d6f639'
branch_labels = None
depends_on = None

COLUMNS = ('revision', 'partner_revision', 'reflection_revision', 'agreement_revision',
           'signing_revision')


def upgrade():
    with op.batch_alter_table('couples', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('couples', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
