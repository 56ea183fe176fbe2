"""the way back after a pause (soft starts, who starts, the topic's rest) and the review together

Revision ID: 2908d1c991e7
Revises: 5b8e2f4a7c31
Create Date: 2026-12-02 00:27:22.928985

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2908d1c991e7'
down_revision = '5b8e2f4a7c31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('marks', sa.JSON(), nullable=False),
    sa.Column('helped', sa.Text(), nullable=False),
    sa.Column('hard', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_review_answers_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_answers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_answers')),
    sa.UniqueConstraint('agreement_id', 'user_id', name=op.f('uq_review_answers_agreement_id'))
    )
    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_answers_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_answers_user_id'), ['user_id'], unique=False)

    op.create_table('soft_starts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pause_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('feel', sa.String(length=200), nullable=False),
    sa.Column('about', sa.String(length=200), nullable=False),
    sa.Column('need', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pause_id'], ['pauses.id'], name=op.f('fk_soft_starts_pause_id_pauses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_soft_starts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soft_starts')),
    sa.UniqueConstraint('pause_id', 'user_id', name=op.f('uq_soft_starts_pause_id'))
    )
    with op.batch_alter_table('soft_starts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_soft_starts_pause_id'), ['pause_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_soft_starts_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rests_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_pauses_starter_id_users'), 'users', ['starter_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pauses_starter_id_users'), type_='foreignkey')
        batch_op.drop_column('rests_until')
        batch_op.drop_column('starter_id')

    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.drop_column('review_revision')

    with op.batch_alter_table('soft_starts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_soft_starts_user_id'))
        batch_op.drop_index(batch_op.f('ix_soft_starts_pause_id'))

    op.drop_table('soft_starts')
    with op.batch_alter_table('review_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_answers_user_id'))
        batch_op.drop_index(batch_op.f('ix_review_answers_agreement_id'))

    op.drop_table('review_answers')
