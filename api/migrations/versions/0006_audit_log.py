"""the audit log: contact details shown, admins' support reads, researchers' export and erasure (issue 14, APPI)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no foreign keys: a row outlives the researcher (and the account) it names, as the law asks of the record
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('researcher_id', sa.Integer(), nullable=True),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('seed_id', sa.Integer(), nullable=True),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_researcher_id'), ['researcher_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_researcher_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_account_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
    op.drop_table('audit_log')
