"""The report-jobs table (issue 5): one row per batch report a coordinator starts.

A job's state lives in the database, not only in the thread running it, so it
survives a restart as a record: a job found `queued` or `running` with no
thread of this process behind it is marked `failed` with a Japanese reason
(see api/reports_jobs.py). It never hangs silently.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from .models import utcnow


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class ReportJob(SQLModel, table=True):
    __tablename__ = "report_job"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(foreign_key="account.id", index=True)
    status: str = Field(default=JobStatus.queued.value, max_length=20, index=True)
    stage: str | None = Field(default=None, max_length=100)
    done: int = 0
    total: int = 0
    message: str | None = Field(default=None, max_length=2000)  # the failure reason, in Japanese
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    files: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)  # heartbeat: every progress write
    finished_at: datetime | None = None
