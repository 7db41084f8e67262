"""the bulk seed import's jobs and checked files in the database, so that every worker sees them (issue 15)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:50:58.438320
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # jobs were kept in each worker's memory before this revision: there is nothing to carry over
    op.create_table('seed_import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('planned', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('encoded', sa.Integer(), nullable=False),
    sa.Column('reused', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('seed_import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seed_import_job_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seed_import_job_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seed_import_job_status'), ['status'], unique=False)

    # the rows of a file the dry run accepted, until it is confirmed (then deleted) or for an hour at most
    op.create_table('seed_import_upload',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('planned', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('seed_import_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seed_import_upload_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_seed_import_upload_created_at'), ['created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seed_import_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seed_import_upload_created_at'))
        batch_op.drop_index(batch_op.f('ix_seed_import_upload_account_id'))

    op.drop_table('seed_import_upload')
    with op.batch_alter_table('seed_import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seed_import_job_status'))
        batch_op.drop_index(batch_op.f('ix_seed_import_job_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_seed_import_job_account_id'))

    op.drop_table('seed_import_job')
