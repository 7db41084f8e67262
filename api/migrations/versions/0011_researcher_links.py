"""a researcher's researchmap id and KAKEN researcher number (issue 15: the profile page)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:45:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: researchers registered before this revision have neither until they add them
    with op.batch_alter_table('researcher') as batch:
        batch.add_column(sa.Column('researchmap_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('kaken_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('researcher') as batch:
        batch.drop_column('kaken_id')
        batch.drop_column('researchmap_id')
