"""The JSON shapes of the bulk seed import (api/routes/seed_import.py): a dry run's plan and an import job."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .seed_import_jobs import ImportJob
from .seed_import_plan import ImportPlan

ActionOut = Literal["create", "update", "unchanged", "rejected"]


class SeedImportProblemOut(BaseModel):
    row: int = Field(description="ファイルの行番号（1行目が列名、データは2行目から）。")
    column: str = Field(description="問題のある列の名前（外部ID・題目 など）。行全体の問題では空。")
    message: str = Field(description="取り込めない理由（日本語）。")


class SeedImportRowOut(BaseModel):
    row: int = Field(description="ファイルの行番号（1行目が列名、データは2行目から）。")
    external_id: str = Field(description="その行の外部ID（大学の中でシーズを見分ける鍵）。")
    title: str = Field(description="その行の題目。")
    action: ActionOut = Field(description="取り込むと起きること: create（新規）、update（更新）、unchanged（変更なし。"
                                          "書き込まない）、rejected（取り込めない）。")
    changes: list[str] = Field(description="update のとき、変わる列の名前。")
    seed_id: int | None = Field(description="update と unchanged のとき、外部IDが指す登録済みのシーズの ID。")
    problems: list[SeedImportProblemOut] = Field(description="rejected のとき、その理由（列ごと）。")


class SeedImportCountsOut(BaseModel):
    create: int = Field(description="新規に登録する行の数。")
    update: int = Field(description="登録済みのシーズを更新する行の数。")
    unchanged: int = Field(description="登録済みのシーズと同じで、書き込まない行の数。")
    rejected: int = Field(description="取り込めない行の数。1件でもあれば、取り込みは何も書き込みません。")


class SeedImportPlanOut(BaseModel):
    organisation_id: int = Field(description="取り込む先の大学の組織ID。")
    ok: bool = Field(description="取り込めるかどうか（取り込めない行が1件もない）。")
    counts: SeedImportCountsOut = Field(description="結果ごとの行の数。")
    rows: list[SeedImportRowOut] = Field(description="行ごとの結果（ファイルの順）。")

    @classmethod
    def of(cls, plan: ImportPlan) -> SeedImportPlanOut:
        return cls(organisation_id=plan.organisation_id, ok=plan.ok, counts=SeedImportCountsOut(**plan.counts()),
                   rows=[SeedImportRowOut(row=r.row, external_id=r.external_id, title=r.title, action=r.action,
                                          changes=r.changes, seed_id=r.seed_id,
                                          problems=[SeedImportProblemOut(**vars(p)) for p in r.problems])
                         for r in plan.rows])


class SeedImportJobOut(BaseModel):
    id: int = Field(description="取り込みのジョブの番号（データベースに記録され、どのサーバーのプロセスでも読める）。")
    status: Literal["queued", "running", "succeeded", "failed", "interrupted"] = Field(
        description="状態: queued（順番待ち）、running（取り込み中）、succeeded（完了）、"
                    "failed（失敗。何も書き込んでいない）、interrupted（中断。取り込んでいたサーバーのプロセスが"
                    "応答しなくなった。何も書き込んでいない）。")
    stage: str = Field(description="いまの段階（日本語）。")
    done: int = Field(description="いまの段階で済んだ数。")
    total: int = Field(description="いまの段階の全体の数（0 は未定）。")
    rows: int = Field(description="ファイルの行の数。")
    counts: SeedImportCountsOut | None = Field(description="完了したとき、結果ごとの行の数。")
    encoded: int = Field(description="完了したとき、この取り込みでベクトルにした文章の数。")
    reused: int = Field(description="完了したとき、保存済みのベクトルをそのまま使った文章の数。")
    message: str | None = Field(description="失敗・中断したときの理由（日本語）。")
    problems: list[SeedImportProblemOut] = Field(description="確認の後にデータベースが変わって取り込めなくなった行。")
    created_at: datetime = Field(description="取り込みを始めた日時（UTC）。")
    finished_at: datetime | None = Field(description="終わった日時（UTC）。")

    @classmethod
    def of(cls, job: ImportJob) -> SeedImportJobOut:
        return cls(id=job.id, status=job.status, stage=job.stage, done=job.done, total=job.total, rows=job.rows,
                   counts=SeedImportCountsOut(**job.counts) if job.counts else None, encoded=job.encoded,
                   reused=job.reused, message=job.message,
                   problems=[SeedImportProblemOut(**vars(p)) for p in job.problems], created_at=job.created_at,
                   finished_at=job.finished_at)
