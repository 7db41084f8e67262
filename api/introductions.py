"""Introduction requests (紹介依頼, issue 15), the flow Linkers runs by hand: a poster asks, from one partner of its
need's results, to be introduced; the university's liaison office (and the researcher, where it opted in) accepts
or declines with a reason; only an accepted request shows the poster the contact details, and each time it does,
the audit log records it (api/audit.py `record_contacts`: 個人情報保護法の第三者提供の記録).

Who is who:
- the liaison office (産学連携窓口) of a university is every enabled account of that university's organisation
  flagged `is_liaison_office` (api/models.py says why a flag and not a role). An admin sets the flag
  (`matcher-admin create-account --liaison-office`, `matcher-admin set-liaison-office`);
- the researcher answers too when it chose to receive requests itself (`Researcher.receives_introductions`);
  otherwise the office asks it, as Linkers' coordinators do, before accepting on its behalf. Accepting is the
  consent to show the researcher's e-mail and phone to this poster, whatever their visibility elsewhere;
- coordinators see the requests of needs in their region block: a coordinator's region is its organisation's
  (`coordinator_region`). A coordinator with no organisation works for the whole network and sees every region,
  as it reads every need (api/access.py).

A request a reader may not see is missing (404), as everywhere (api/access.py); one it sees but may not answer
(the poster's own, a coordinator's view) is forbidden (403).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col, select

from matcher.regions import default_prefectures

from . import access, audit
from .errors import ApiError, forbidden, not_found
from .introduction_models import (
    DisclosedContact,
    IntroductionAnswer,
    IntroductionCreate,
    IntroductionOut,
    IntroductionRequest,
    IntroductionStatus,
)
from .models import Account, Need, Organisation, OrgKind, Researcher, Role, Seed, stored_id, utcnow
from .notifications import notify

IGNORED_AFTER = timedelta(days=14)  # a request with no answer for this long counts as ignored in the aggregate
REQUESTERS = {Role.poster, Role.admin}
ONLY_THE_POSTER = "紹介を依頼できるのは、このニーズを投稿した本人（と管理者）です。"
NOT_AN_ANSWERER = "この依頼に回答できるのは、大学の産学連携窓口と、受け取りを選んだ研究者本人だけです。"
ANSWERED = "この依頼にはすでに回答済みです。"
ALREADY_ASKED = "この連携先には、回答待ちの紹介依頼がすでにあります。依頼の画面で状況を確認してください。"


# ---- where and who ---------------------------------------------------------------------------------
def region_of(prefecture_code: str) -> str:
    return default_prefectures().get(prefecture_code).region


def coordinator_region(session: Session, account: Account) -> str | None:
    """The region block a coordinator looks after: its organisation's; None for the whole network."""
    org = session.get(Organisation, account.organisation_id) if account.organisation_id else None
    return region_of(org.prefecture_code) if org else None


def is_liaison_of(session: Session, account: Account, organisation_id: int) -> bool:
    if not account.is_liaison_office or account.disabled or account.organisation_id != organisation_id:
        return False
    org = session.get(Organisation, organisation_id)
    return org is not None and org.kind == OrgKind.university


def reached(session: Session, organisation_id: int, researcher_id: int | None) -> list[int]:
    """The accounts a request to this university and researcher goes to: the university's liaison office, and the
    researcher if it opted in."""
    office = session.exec(select(Account).where(col(Account.organisation_id) == organisation_id,
                                                col(Account.is_liaison_office), col(Account.disabled).is_(False)))
    ids = [stored_id(a) for a in office.all() if is_liaison_of(session, a, organisation_id)]
    researcher = session.get(Researcher, researcher_id) if researcher_id else None
    if researcher is not None and researcher.receives_introductions and researcher.account_id is not None:
        ids.append(researcher.account_id)
    return sorted(set(ids))


def answerer_ids(session: Session, request: IntroductionRequest) -> list[int]:
    return reached(session, request.organisation_id, request.researcher_id)


def may_answer(session: Session, account: Account, request: IntroductionRequest) -> bool:
    return account.id in answerer_ids(session, request)


def may_see(session: Session, account: Account, request: IntroductionRequest) -> bool:
    """The requester, admins, coordinators of the need's region, and whoever may answer (a coordinator-role account
    may be its university's liaison office too: it sees its university's requests from every region)."""
    if account.role == Role.admin or request.requester_account_id == account.id:
        return True
    if account.role == Role.coordinator:
        region = coordinator_region(session, account)
        if region is None or region == request.region:
            return True
    return may_answer(session, account, request)


def visible_requests(session: Session, account: Account) -> ColumnElement[bool]:
    """`may_see` as a WHERE clause, for lists."""
    if account.role == Role.admin:
        return true()
    regional: ColumnElement[bool] = false()
    if account.role == Role.coordinator:
        region = coordinator_region(session, account)
        if region is None:
            return true()
        regional = col(IntroductionRequest.region) == region
    mine = col(IntroductionRequest.requester_account_id) == account.id
    office = (col(IntroductionRequest.organisation_id) == account.organisation_id
              if account.organisation_id and is_liaison_of(session, account, account.organisation_id) else false())
    me = access.researcher_of(session, account)
    own = (col(IntroductionRequest.researcher_id) == me.id
           if me is not None and me.receives_introductions else false())
    return or_(mine, office, own, regional)


def readable_request(session: Session, account: Account, request_id: int) -> IntroductionRequest:
    request = session.get(IntroductionRequest, request_id)
    if request is None or not may_see(session, account, request):
        raise not_found("紹介依頼", request_id)
    return request


# ---- asking ----------------------------------------------------------------------------------------------
def _partner(level: str, seed: Seed, org: Organisation, researcher: Researcher | None) -> tuple[str, str]:
    """The partner's key (as the match results name it: matcher/rank.py `partner_key`) and its name."""
    if level == "researcher" and researcher is not None:
        return f"researcher:{researcher.id}", f"{researcher.name}（{org.name}）"
    if level == "seed":
        return str(seed.id), f"{seed.title}（{org.name}）"
    return org.name, org.name


def create(session: Session, account: Account, body: IntroductionCreate) -> IntroductionRequest:
    """A request from the need's poster, through one seed of the partner: the seed names the researcher and the
    university it goes to. The seed is checked first, so a draft or withdrawn one stays missing (404) to all."""
    seed = session.get(Seed, body.seed_id)
    if seed is None or not access.seed_is_listed(seed):
        raise not_found("シーズ", body.seed_id)
    need = access.readable_need(session, account, body.need_id)
    if account.role not in REQUESTERS or not access.may_change_need(account, need):
        raise forbidden(ONLY_THE_POSTER)
    open_one = select(IntroductionRequest.id).where(
        col(IntroductionRequest.need_id) == need.id, col(IntroductionRequest.organisation_id) == seed.organisation_id,
        col(IntroductionRequest.researcher_id) == seed.researcher_id,
        col(IntroductionRequest.status) == IntroductionStatus.pending.value)
    if session.exec(open_one).first() is not None:
        raise ApiError(409, "conflict", ALREADY_ASKED)
    org = session.get_one(Organisation, seed.organisation_id)
    researcher = session.get(Researcher, seed.researcher_id)
    key, name = _partner(body.level, seed, org, researcher)
    request = IntroductionRequest(need_id=stored_id(need), requester_account_id=stored_id(account),
                                  organisation_id=stored_id(org), researcher_id=seed.researcher_id,
                                  seed_id=seed.id, partner_level=body.level, partner_key=key, partner_name=name,
                                  region=region_of(need.prefecture_code), message=body.message)
    session.add(request)
    session.flush()
    link = f"/introductions/{request.id}"
    for account_id in answerer_ids(session, request):
        notify(session, account_id, kind="introduction_requested", link=link,
               message=f"紹介依頼が届きました: 「{need.title}」から {name} へ。承諾か辞退かを回答してください。")
    session.commit()
    session.refresh(request)
    return request


# ---- answering -----------------------------------------------------------------------------------------------
def answer(session: Session, account: Account, request_id: int, body: IntroductionAnswer) -> IntroductionRequest:
    request = readable_request(session, account, request_id)
    if not may_answer(session, account, request):
        raise forbidden(NOT_AN_ANSWERER)
    if request.status != IntroductionStatus.pending.value:
        raise ApiError(409, "conflict", ANSWERED)
    request.status = (IntroductionStatus.accepted if body.accept else IntroductionStatus.declined).value
    request.reason, request.answered_by_account_id, request.answered_at = body.reason, account.id, utcnow()
    session.add(request)
    outcome = "承諾されました。依頼の画面で連絡先を確認できます" if body.accept else "辞退されました"
    notify(session, request.requester_account_id, kind=f"introduction_{request.status}",
           link=f"/introductions/{request.id}", message=f"{request.partner_name} への紹介依頼が{outcome}。")
    session.commit()
    session.refresh(request)
    return request


# ---- reading -------------------------------------------------------------------------------------------------
def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_ignored(request: IntroductionRequest, now: datetime | None = None) -> bool:
    waited = (now or utcnow()) - _aware(request.created_at)
    return request.status == IntroductionStatus.pending.value and waited > IGNORED_AFTER


def _contact(session: Session, reader: Account, request: IntroductionRequest) -> DisclosedContact | None:
    """The contact details, for the poster of an accepted request only; the researcher's fields it shows are
    recorded in the audit log (and committed) before they go out."""
    if request.status != IntroductionStatus.accepted.value or request.requester_account_id != reader.id:
        return None
    org = session.get_one(Organisation, request.organisation_id)
    researcher = session.get(Researcher, request.researcher_id) if request.researcher_id else None
    contact = DisclosedContact(office=org.liaison_office or f"{org.name} 産学連携窓口", office_email=org.liaison_email,
                               office_phone=org.liaison_phone, office_url=org.liaison_url)
    if researcher is not None:
        contact.researcher, contact.email, contact.phone = researcher.name, researcher.email, researcher.phone
        shown = [name for name in ("email", "phone") if getattr(researcher, name)]
        audit.record_contacts(session, reader, [(stored_id(researcher), researcher.account_id, shown)])
    return contact


def out(session: Session, reader: Account, request: IntroductionRequest, *, with_contact: bool = True
        ) -> IntroductionOut:
    need = session.get_one(Need, request.need_id)
    requester = session.get_one(Account, request.requester_account_id)
    poster_org = session.get(Organisation, requester.organisation_id) if requester.organisation_id else None
    org = session.get_one(Organisation, request.organisation_id)
    researcher = session.get(Researcher, request.researcher_id) if request.researcher_id else None
    return IntroductionOut(
        id=stored_id(request), need_id=request.need_id, need_title=need.title,
        requester=poster_org.name if poster_org else requester.name, organisation_id=request.organisation_id,
        university=org.name, researcher=researcher.name if researcher else None,
        partner_level=request.partner_level, partner_key=request.partner_key, partner_name=request.partner_name,
        region=request.region, message=request.message, status=IntroductionStatus(request.status),
        reason=request.reason, created_at=request.created_at, answered_at=request.answered_at,
        is_mine=request.requester_account_id == reader.id,
        may_answer=request.status == IntroductionStatus.pending.value and may_answer(session, reader, request),
        contact=_contact(session, reader, request) if with_contact else None)


def listed(session: Session, reader: Account, *, status: IntroductionStatus | None = None, limit: int = 200,
           offset: int = 0) -> list[IntroductionOut]:
    """The requests `reader` may see, newest first, without contact details (those are on each request's own
    page and answer, so that every disclosure is one the poster opened)."""
    query = select(IntroductionRequest).where(visible_requests(session, reader))
    if status is not None:
        query = query.where(col(IntroductionRequest.status) == status.value)
    rows = session.exec(query.order_by(col(IntroductionRequest.id).desc()).offset(offset).limit(limit)).all()
    return [out(session, reader, r, with_contact=False) for r in rows]

