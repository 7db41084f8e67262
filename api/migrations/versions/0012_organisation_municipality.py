"""an organisation's campus municipality (全国地方公共団体コード), for distances (issue 15: the admin pages)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: organisations written before this revision name no campus; a university's place then comes from
    # its 本部所在地 in corpora/master/universities.csv where the engine knows it, else from the prefecture
    with op.batch_alter_table('organisation') as batch:
        batch.add_column(sa.Column('municipality_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisation') as batch:
        batch.drop_column('municipality_code')
