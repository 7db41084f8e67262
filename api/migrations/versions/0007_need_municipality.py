"""a need's municipality (全国地方公共団体コード), for distances (issue 13, part 5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: needs written before this revision name no municipality, and are placed by prefecture alone
    with op.batch_alter_table('need') as batch:
        batch.add_column(sa.Column('municipality_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('need') as batch:
        batch.drop_column('municipality_code')
