"""The tables of the bulk seed import (issue 15, シーズ集): its jobs, and the checked files waiting to be confirmed.

Both live in the database, not in a worker's memory, so that with several worker processes (api/workers.py) any
worker answers a job's progress and any worker takes the confirmation of a file another one checked.

- `seed_import_job`: one row per import started. The running import writes its stage and counts to it at each
  chunk boundary, in a short transaction of its own (never the import's one), and `updated_at` doubles as the
  heartbeat that tells a live job from one whose worker died (api/seed_import_jobs.py).
- `seed_import_upload`: the rows of a file the dry run accepted, until the office confirms it (then deleted)
  or for an hour at most: they hold researchers' e-mail addresses, and are kept no longer than the page needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from .models import utcnow


class SeedImportJob(SQLModel, table=True):
    __tablename__ = "seed_import_job"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)  # the university imported into
    account_id: int = Field(foreign_key="account.id", index=True)  # who started it
    filename: str = Field(default="", max_length=255)
    rows: int = 0  # data rows in the file
    status: str = Field(default="queued", max_length=20, index=True)  # seed_import_jobs.JobStatus
    stage: str = Field(default="", max_length=100)  # in Japanese, as the page shows it
    done: int = 0
    total: int = 0
    planned: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the dry run's
    counts: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # as written
    encoded: int = 0
    reused: int = 0
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str | None = Field(default=None, max_length=2000)  # why it failed or was interrupted, in Japanese
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)  # every write of the job: its heartbeat
    finished_at: datetime | None = None


class SeedImportUpload(SQLModel, table=True):
    __tablename__ = "seed_import_upload"

    id: str = Field(primary_key=True, max_length=40)  # a random token, in the page's confirm form
    account_id: int = Field(foreign_key="account.id", index=True)  # only this account may confirm it
    organisation_id: int = Field(foreign_key="organisation.id")
    filename: str = Field(default="", max_length=255)
    source: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [[row, {cells}], …]
    planned: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
