"""standing alerts: an account's alert setting and feed secret, and the (account, need, seed) pairs already
alerted (issue 15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no row for an account: alerts off, no feed (api/alerts.py reads a missing row as the defaults)
    op.create_table('alert_setting',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('feed_secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('feed_created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('account_id'),
    sa.UniqueConstraint('feed_secret_hash')
    )
    # need_id and seed_id name no foreign key: a researcher's erasure deletes its seeds, and this record stays
    op.create_table('alert_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('seed_id', sa.Integer(), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'need_id', 'seed_id', name='uq_alert_sent_account_need_seed')
    )
    with op.batch_alter_table('alert_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_sent_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_table('alert_sent')
    op.drop_table('alert_setting')
