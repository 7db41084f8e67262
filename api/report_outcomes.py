"""What became of the partners of a report job's needs (issue 15): the outcomes section of the job's files, and who
may open files that carry one.

- `gather` counts, over the report's needs, the introduction requests (accepted, declined, pending, ignored) and
  the feedback (役に立った／役に立たなかった) as the coordinators' page counts them (api/feedback.py `outcomes`, the
  one aggregation), within what the job's creator reads there: a coordinator its region block's, an admin or a
  network-wide coordinator every region's. The job's summary keeps that region and the number of partners counted
  (`summary`).
- `may_open`: the jobs are listed to every coordinator (reports are shared among them), but the outcomes follow
  /coordinator/outcomes' rule: a coordinator of one region does not open the files of a job that counted another
  region's (or every region's) outcomes. Files that counted none, and jobs from before there were outcomes, stay
  open to every coordinator.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine as Database
from sqlmodel import Session

from matcher.reports import Report
from matcher.reports.model import OutcomesScope, PartnerOutcomeRow

from . import feedback
from .errors import forbidden
from .introduction_models import PartnerOutcome
from .introductions import IGNORED_AFTER
from .models import Account
from .report_models import ReportJob
from .web.labels import PARTNER_LEVELS

EVERY_REGION = "すべての地域"
OTHER_REGION = ("このレポートには{region}の紹介依頼と評価の結果が含まれるため、その地域のコーディネーターと管理者だけが"
                "開けます。ご自分の地域のレポートを作成してください。")


def gather(db: Database, creator_id: int, report: Report) -> tuple[list[PartnerOutcomeRow], OutcomesScope]:
    """The outcomes of `report`'s needs that the job's creator may read, and what they count."""
    with Session(db) as session:
        creator = session.get_one(Account, creator_id)
        region = feedback.reader_region(session, creator)
        readable = creator.role in feedback.READERS and not creator.disabled  # the role checked when it started
        counted = feedback.outcomes(session, region, need_ids={n.need_id for n in report.needs}) if readable else []
    return [_row(o) for o in counted], OutcomesScope(region=region, ignored_after_days=IGNORED_AFTER.days)


def _row(outcome: PartnerOutcome) -> PartnerOutcomeRow:
    asked = outcome.accepted + outcome.declined + outcome.pending + outcome.ignored
    return PartnerOutcomeRow(
        partner=outcome.partner_name, level=PARTNER_LEVELS.get(outcome.partner_level, outcome.partner_level),
        asked=asked, accepted=outcome.accepted, declined=outcome.declined, pending=outcome.pending,
        ignored=outcome.ignored, useful=outcome.useful, not_useful=outcome.not_useful)


def summary(report: Report) -> dict[str, Any]:
    """The job summary's record of the outcomes its files carry (read by `may_open`)."""
    scope = report.outcomes_scope
    return {"outcomes": len(report.outcomes), "outcomes_region": scope.region if scope else None}


def may_open(session: Session, reader: Account, job: ReportJob) -> bool:
    if not job.summary.get("outcomes"):
        return True
    if reader.role not in feedback.READERS:
        return False
    region = feedback.reader_region(session, reader)
    return region is None or region == job.summary.get("outcomes_region")


def refusal(session: Session, reader: Account, job: ReportJob) -> str | None:
    """Why `reader` may not open `job`'s files (in Japanese), or None if it may: the page shows it in place of
    the links, the download answers it as a 403."""
    if may_open(session, reader, job):
        return None
    return OTHER_REGION.format(region=job.summary.get("outcomes_region") or EVERY_REGION)


def check_may_open(session: Session, reader: Account, job: ReportJob) -> None:
    """Forbidden (403, in Japanese) unless `reader` may read the outcomes in `job`'s files."""
    reason = refusal(session, reader, job)
    if reason is not None:
        raise forbidden(reason)
