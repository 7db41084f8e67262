"""Alembic environment: runs on the connection that api.db.migrate() passes in,
or on MATCHER_DATABASE_URL / DATABASE_URL when alembic is run by hand."""

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import api.alert_models  # noqa: F401  (standing alerts, issue 15)
import api.audit  # noqa: F401  (the audit log, issue 14)
import api.change_log  # noqa: F401  (the change log the indexes follow, issue 12)
import api.embeddings  # noqa: F401  (the passage vectors, issue 12)
import api.introduction_models  # noqa: F401  (introductions, feedback, notifications, issue 15)
import api.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import api.report_models  # noqa: F401  (the report-jobs table, issue 5)
import api.security_models  # noqa: F401  (web sessions and idempotency keys, issue 14)
import api.seed_import_models  # noqa: F401  (seed import jobs and checked files, issue 15)

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from api.db import make_engine
        from api.settings import get_settings

        with make_engine(get_settings().sqlalchemy_url).begin() as connection:
            _run_on(connection)
    else:
        _run_on(connection)


def _run_on(connection: Connection) -> None:
    # render_as_batch lets ALTER TABLE work on SQLite in later migrations
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
