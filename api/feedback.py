"""Feedback on a match (issue 15): 役に立った／役に立たなかった, with an optional reason, on one partner of a need's
results; and the coordinators' aggregate of what became of each partner (introductions accepted, declined or
ignored; found useful or not).

The feedback never reaches the ranking: nothing in matcher/ reads this table. It is exported as a labelled set for
the ranking benchmark (`export_rows`, `matcher-admin export-feedback`), to be weighed once there is enough of it.

Who gives it: the need's poster (and admins), the ones who asked for the match. Who reads it: coordinators of the
need's region block (api/introductions.py `coordinator_region`) and admins; a poster reads its own. The batch
report counts its needs' outcomes with the same `outcomes` (api/report_outcomes.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from . import access
from .errors import forbidden
from .introduction_models import (
    FeedbackCreate,
    FeedbackOut,
    IntroductionRequest,
    IntroductionStatus,
    MatchFeedback,
    PartnerOutcome,
)
from .introductions import coordinator_region, is_ignored, region_of
from .models import Account, Need, Role, stored_id, utcnow

ONLY_THE_POSTER = "照合結果を評価できるのは、このニーズを投稿した本人（と管理者）です。"
READERS = {Role.coordinator, Role.admin}
Row = TypeVar("Row", IntroductionRequest, MatchFeedback)


def give(session: Session, account: Account, body: FeedbackCreate) -> MatchFeedback:
    """Record (or replace) `account`'s say on one partner of one need."""
    need = access.readable_need(session, account, body.need_id)
    if account.role not in (Role.poster, Role.admin) or not access.may_change_need(account, need):
        raise forbidden(ONLY_THE_POSTER)
    row = session.exec(select(MatchFeedback).where(
        col(MatchFeedback.need_id) == need.id, col(MatchFeedback.account_id) == account.id,
        col(MatchFeedback.partner_level) == body.level, col(MatchFeedback.partner_key) == body.key)).first()
    if row is None:
        row = MatchFeedback(need_id=stored_id(need), account_id=stored_id(account), partner_level=body.level,
                            partner_key=body.key, partner_name=body.name, region=region_of(need.prefecture_code),
                            useful=body.useful)
    row.useful, row.reason, row.partner_name, row.updated_at = body.useful, body.reason or None, body.name, utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def _scope(session: Session, reader: Account) -> ColumnElement[bool]:
    """The feedback `reader` may read: a coordinator its region's, an admin all, a poster its own."""
    if reader.role == Role.admin:
        return true()
    if reader.role == Role.coordinator:
        region = coordinator_region(session, reader)
        return true() if region is None else col(MatchFeedback.region) == region
    return col(MatchFeedback.account_id) == reader.id


def out(session: Session, row: MatchFeedback) -> FeedbackOut:
    need = session.get_one(Need, row.need_id)
    return FeedbackOut(id=stored_id(row), need_id=row.need_id, need_title=need.title, partner_level=row.partner_level,
                       partner_key=row.partner_key, partner_name=row.partner_name, region=row.region,
                       useful=row.useful, reason=row.reason, updated_at=row.updated_at)


def listed(session: Session, reader: Account, *, need_id: int | None = None, limit: int = 200,
           offset: int = 0) -> list[FeedbackOut]:
    query = select(MatchFeedback).where(_scope(session, reader))
    if need_id is not None:
        query = query.where(col(MatchFeedback.need_id) == need_id)
    rows = session.exec(query.order_by(col(MatchFeedback.updated_at).desc(), col(MatchFeedback.id).desc())
                        .offset(offset).limit(limit)).all()
    return [out(session, r) for r in rows]


def outcomes(session: Session, region: str | None, now: datetime | None = None, *,
             need_ids: AbstractSet[int] | None = None) -> list[PartnerOutcome]:
    """Per partner, in `region` (None: all) and, given `need_ids`, on those needs only (a report's): introductions
    accepted, declined, pending and ignored, and feedback useful and not; partners with the most of all first."""
    counted: dict[tuple[str, str], PartnerOutcome] = {}

    def of(level: str, key: str, name: str) -> PartnerOutcome:
        return counted.setdefault((level, key), PartnerOutcome(partner_level=level, partner_key=key, partner_name=name))

    requests = select(IntroductionRequest)
    feedback = select(MatchFeedback)
    if region is not None:
        requests = requests.where(col(IntroductionRequest.region) == region)
        feedback = feedback.where(col(MatchFeedback.region) == region)
    # a report's needs may be thousands: kept out of the SQL (an IN list would meet the backends' parameter limits)
    for r in _on(session.exec(requests).all(), need_ids):
        partner = of(r.partner_level, r.partner_key, r.partner_name)
        if is_ignored(r, now):
            partner.ignored += 1
        elif r.status == IntroductionStatus.pending.value:
            partner.pending += 1
        elif r.status == IntroductionStatus.accepted.value:
            partner.accepted += 1
        else:
            partner.declined += 1
    for f in _on(session.exec(feedback).all(), need_ids):
        partner = of(f.partner_level, f.partner_key, f.partner_name)
        if f.useful:
            partner.useful += 1
        else:
            partner.not_useful += 1
    return sorted(counted.values(), key=lambda p: (-_total(p), p.partner_name))


def _on(rows: Sequence[Row], need_ids: AbstractSet[int] | None) -> Sequence[Row]:
    return rows if need_ids is None else [row for row in rows if row.need_id in need_ids]


def _total(p: PartnerOutcome) -> int:
    return p.accepted + p.declined + p.pending + p.ignored + p.useful + p.not_useful


def reader_region(session: Session, reader: Account) -> str | None:
    """The region of the aggregate a coordinator or admin sees (None: all)."""
    return coordinator_region(session, reader) if reader.role == Role.coordinator else None


def export_rows(session: Session) -> Iterator[dict[str, object]]:
    """The labelled set for the ranking benchmark, one row per feedback: need, partner key ("level:key"), label
    (1 役に立った, 0 役に立たなかった) and reason."""
    for row in session.exec(select(MatchFeedback).order_by(col(MatchFeedback.id))).all():
        key = row.partner_key if row.partner_key.startswith(f"{row.partner_level}:") else \
            f"{row.partner_level}:{row.partner_key}"  # "university:…", "researcher:3", "seed:17"
        yield {"need_id": row.need_id, "partner_key": key,
               "partner_name": row.partner_name, "label": 1 if row.useful else 0, "reason": row.reason}
