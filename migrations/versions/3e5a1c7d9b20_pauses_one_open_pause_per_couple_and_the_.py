"""pauses: one open pause per couple, with its return time, and a live part for it

Revision ID: 3e5a1c7d9b20
Revises: 95237e1895b7
Create Date: 2026-12-01 21:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e5a1c7d9b20'
down_revision = '95237e1895b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('open_couple_id', sa.Integer(), nullable=True),
    sa.Column('asked_by_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('back_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=140), nullable=True),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('reassurance', sa.String(length=30), nullable=True),
    sa.Column('reassured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('asked', 'ready', 'ended')", name=op.f('ck_pauses_state')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_pauses_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_pauses_asked_by_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_pauses_couple_id_couples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pauses')),
    sa.UniqueConstraint('open_couple_id', name=op.f('uq_pauses_open_couple_id'))
    )
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pauses_couple_id'), ['couple_id'], unique=False)
    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pause_revision', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.drop_column('pause_revision')
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pauses_couple_id'))

    op.drop_table('pauses')
