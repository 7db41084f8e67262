"""Editing an organisation (issue 15, the admin pages): its name, kind, place, English name and liaison office.

One validation for the page (api/web/admin_orgs.py) and the API (`PATCH /api/v1/admin/organisations/{id}`): the
stored organisation with the changes laid over it is validated by `OrganisationCreate`, as a new organisation is,
so an edit is refused for what a creation would be refused for, in the same Japanese words, and a campus
municipality is checked against the prefecture the edit leaves.

What the index holds of an organisation is written down again in the edit's own transaction, through the change
log that every worker follows (api/change_log.py): a university's record (its liaison office and campus), each
seed of the organisation when its name or prefecture changed (a seed's record carries both), each need it posted
when its name or kind changed (a need's record names its poster). A university with researchers or a liaison
office account stays a university: their seeds and introductions need one. Each edit is in the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Field, Session, SQLModel, col, func, select

from . import audit
from .change_log import ChangeKind, record_change
from .errors import ApiError, ErrorDetail, not_found
from .models import (
    FORBID,
    Account,
    Need,
    Organisation,
    OrganisationBase,
    OrganisationCreate,
    OrgKind,
    Researcher,
    Seed,
    stored_id,
)
from .service import MatchService

FIELDS = tuple(OrganisationBase.model_fields)
REQUIRED = ("name", "kind", "prefecture_code")  # an explicit null leaves these as they are
STAYS_UNIVERSITY = ("研究者 {researchers} 人・産学連携窓口のアカウント {offices} 件が登録されている大学は、"
                    "種類を変えられません。")


class OrganisationUpdate(SQLModel):
    """The fields to change; the others stay. Checked, merged with the stored ones, as a new organisation is."""

    model_config = FORBID
    name: str | None = Field(default=None, description="組織の名称（変えるときだけ）")
    kind: OrgKind | None = Field(default=None, description="組織の種類（変えるときだけ。研究者のいる大学は大学のまま）")
    prefecture_code: str | None = Field(default=None, description="所在地の都道府県（コードか名前。変えるときだけ）")
    municipality_code: str | None = Field(default=None, description=(
        "キャンパス（所在地）の市区町村。全国地方公共団体コードか名前で、都道府県の中にあること。null で消す"))
    name_en: str | None = Field(default=None, description="英語の名称（null で消す）")
    liaison_office: str | None = Field(default=None, description="産学連携窓口の名称（null で消す）")
    liaison_url: str | None = Field(default=None, description="産学連携窓口のウェブページ（null で消す）")
    liaison_email: str | None = Field(default=None, description="産学連携窓口のメールアドレス（null で消す）")
    liaison_phone: str | None = Field(default=None, description="産学連携窓口の電話番号（null で消す）")


def find(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise not_found("組織", organisation_id)
    return org


def merged(org: Organisation, changes: dict[str, Any]) -> OrganisationCreate:
    """The organisation as the edit leaves it, validated as a new one (pydantic's ValidationError if refused)."""
    kept = {name: getattr(org, name) for name in FIELDS}
    given = {k: v for k, v in changes.items() if not (v is None and k in REQUIRED)}
    return OrganisationCreate.model_validate({**kept, **given})


def check_kind(session: Session, org: Organisation, kind: OrgKind) -> None:
    """A university that has researchers or a liaison office account may not become another kind."""
    if org.kind != OrgKind.university or kind == OrgKind.university:
        return
    researchers = session.exec(select(func.count()).select_from(Researcher)
                               .where(col(Researcher.organisation_id) == org.id)).one()
    offices = session.exec(select(func.count()).select_from(Account).where(
        col(Account.organisation_id) == org.id, col(Account.is_liaison_office).is_(True))).one()
    if researchers or offices:
        message = STAYS_UNIVERSITY.format(researchers=researchers, offices=offices)
        raise ApiError(422, "validation_error", message, [ErrorDetail(field="kind", message=message)])


def update_organisation(session: Session, service: MatchService, actor: Account | None, org: Organisation,
                        body: OrganisationCreate) -> Organisation:
    """Write `body` (from `merged`) over `org` with the index's change rows and an audit row, in one transaction."""
    check_kind(session, org, body.kind)
    changed = [name for name in FIELDS if getattr(org, name) != getattr(body, name)]
    if not changed:
        return org
    was_university = org.kind == OrgKind.university
    for name in changed:
        setattr(org, name, getattr(body, name))
    session.add(org)
    for kind, item_id in _index_changes(session, org, changed, was_university):
        record_change(session, kind, item_id)
    audit.record(session, audit.AuditAction.organisation_updated, actor,
                 reason=f"組織 {org.id}（{org.name}）: {', '.join(changed)}")
    session.commit()
    session.refresh(org)
    service.catch_up()  # this worker's index before answering, as every write (api/usecases.py)
    return org


def _index_changes(session: Session, org: Organisation, changed: list[str],
                   was_university: bool) -> list[tuple[ChangeKind, int]]:
    """What the index must read again after the edit of `changed` fields."""
    org_id = stored_id(org)
    rows: list[tuple[ChangeKind, int]] = []
    if was_university or org.kind == OrgKind.university:
        rows.append((ChangeKind.university, org_id))
    if {"name", "prefecture_code"} & set(changed):
        seeds = session.exec(select(Seed.id).where(col(Seed.organisation_id) == org_id)).all()
        rows += [(ChangeKind.seed, seed_id) for seed_id in seeds if seed_id is not None]
    if {"name", "kind"} & set(changed):
        needs = session.exec(select(Need.id).where(col(Need.organisation_id) == org_id)).all()
        rows += [(ChangeKind.need, need_id) for need_id in needs if need_id is not None]
    return rows
