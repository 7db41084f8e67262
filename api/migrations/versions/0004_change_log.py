"""change log: one row per write of a seed, need or university (issue 12)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # AUTOINCREMENT on SQLite (a sequence number is never reused, even after the newest row is deleted);
    # BIGINT identity on PostgreSQL. SQLite's rowid alias must be typed exactly INTEGER.
    op.create_table('change_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('change_log')
