"""`matcher-admin import-seeds`: the page's dry run and import, at the command line, with a rich progress bar.

The same reader, plan and import as the page (api/seed_import_read.py, _plan.py, _run.py). The command writes
to the database alone: the servers' indexes follow its change rows (api/follower.py), as they follow any other
worker's writes, so it runs while the service runs. The row-by-row report is the page's table, as text.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine as Database
from sqlmodel import Session

from .db import make_engine, migrate
from .seed_import_plan import ACTION_NAMES, ImportPlan, ImportTargetError, plan_import
from .seed_import_read import ImportFileError, SourceRow, read_table
from .seed_import_run import ImportRejected, run_import
from .settings import get_settings

STYLES = {"create": "green", "update": "yellow", "unchanged": "dim", "rejected": "bold red"}


class ImportFailed(Exception):
    """The command's Japanese reason for exiting 1 (nothing was written)."""


def report_table(plan: ImportPlan) -> Table:
    table = Table(title="行ごとの結果（取り込めない行を先に）", show_lines=False)
    for header in ("行", "外部ID", "題目", "結果", "内容"):
        table.add_column(header, overflow="fold")
    for row in sorted(plan.rows, key=lambda r: (r.action != "rejected", r.row)):
        if row.problems:
            detail = "\n".join(f"{p.column}: {p.message}" if p.column else p.message for p in row.problems)
        elif row.action == "update":
            detail = f"変わる列: {'・'.join(row.changes)}（シーズ #{row.seed_id}）"
        elif row.action == "unchanged":
            detail = f"シーズ #{row.seed_id} と同じ"
        else:
            detail = "新しいシーズとして登録"
        table.add_row(str(row.row), row.external_id, row.title[:40], ACTION_NAMES[row.action], detail,
                      style=STYLES[row.action])
    return table


def counts_line(plan: ImportPlan) -> str:
    c = plan.counts()
    return (f"新規 {c['create']} 件・更新 {c['update']} 件・変更なし {c['unchanged']} 件・"
            f"取り込めない {c['rejected']} 件")


def import_seeds(path: Path, organisation_id: int, *, dry_run: bool, console: Console) -> None:
    """Check `path` and, unless `dry_run`, import it; ImportFailed with the reason when nothing can be written."""
    try:
        rows = read_table(path.read_bytes())
    except (ImportFileError, OSError) as e:
        raise ImportFailed(str(e)) from e
    settings = get_settings()
    db = make_engine(settings.sqlalchemy_url)
    try:
        migrate(db)
        with Session(db) as session:
            try:
                plan = plan_import(session, organisation_id, rows)
            except ImportTargetError as e:
                raise ImportFailed(str(e)) from e
        console.print(report_table(plan))
        console.print(counts_line(plan))
        if not plan.ok:
            raise ImportFailed("取り込めない行があるため、何も書き込んでいません。"
                               "理由を直して、もう一度実行してください。")
        if dry_run:
            console.print("確認だけを行いました（--dry-run）。何も書き込んでいません。")
            return
        _run(db, organisation_id, rows, console)
    finally:
        db.dispose()


def _run(db: Database, organisation_id: int, rows: list[SourceRow], console: Console) -> None:
    from matcher.embed import Encoder

    settings = get_settings()
    encoder = Encoder(settings.model_dir, threads=settings.threads, backend=settings.encoder_backend)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("開始しています", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total or None)

        try:
            outcome = run_import(db, encoder, organisation_id, rows, progress=report)
        except ImportRejected as rejected:  # the database changed since the check above
            console.print(report_table(rejected.plan))
            raise ImportFailed("取り込めない行があったため、何も書き込んでいません。") from rejected
    console.print(f"取り込みました: {counts_line(outcome.plan)}。ベクトルにした文章 {outcome.encoded} 件、"
                  f"保存済みのベクトルを使った文章 {outcome.reused} 件。")
