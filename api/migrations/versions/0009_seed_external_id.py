"""a seed's external id: its id in its university's シーズ集, the key of the bulk import (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: seeds written one by one have none, and NULLs never collide in a unique constraint (SQLite and
    # PostgreSQL alike), so the constraint binds imported seeds only
    with op.batch_alter_table('seed') as batch:
        batch.add_column(sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch.create_unique_constraint('uq_seed_organisation_external_id', ['organisation_id', 'external_id'])


def downgrade() -> None:
    with op.batch_alter_table('seed') as batch:
        batch.drop_constraint('uq_seed_organisation_external_id', type_='unique')
        batch.drop_column('external_id')
