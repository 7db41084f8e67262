"""introduction requests, feedback on a match, in-app notifications; the liaison-office flag of an account and a
researcher's choice to receive introduction requests (issue 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server defaults: the accounts and researchers already there are no liaison office and have not opted in
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('is_liaison_office', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('researcher') as batch:
        batch.add_column(sa.Column('receives_introductions', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # researcher_id names no foreign key: a request and its outcome outlive the researcher's erasure
    op.create_table('introduction_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('requester_account_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('researcher_id', sa.Integer(), nullable=True),
    sa.Column('seed_id', sa.Integer(), nullable=True),
    sa.Column('partner_level', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('partner_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('partner_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('answered_by_account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['need_id'], ['need.id'], ),
    sa.ForeignKeyConstraint(['requester_account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['answered_by_account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('introduction_request', schema=None) as batch_op:
        for column in ('need_id', 'requester_account_id', 'organisation_id', 'researcher_id', 'region', 'status'):
            batch_op.create_index(batch_op.f(f'ix_introduction_request_{column}'), [column], unique=False)
    op.create_table('match_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_level', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('partner_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('partner_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('useful', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['need.id'], ),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('need_id', 'account_id', 'partner_level', 'partner_key',
                        name='uq_match_feedback_need_account_partner')
    )
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        for column in ('need_id', 'account_id', 'region'):
            batch_op.create_index(batch_op.f(f'ix_match_feedback_{column}'), [column], unique=False)
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('read_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('notification')
    op.drop_table('match_feedback')
    op.drop_table('introduction_request')
    with op.batch_alter_table('researcher') as batch:
        batch.drop_column('receives_introductions')
    with op.batch_alter_table('account') as batch:
        batch.drop_column('is_liaison_office')
