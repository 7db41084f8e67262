"""A researcher's own data (issue 14, item 5: APPI): its export as JSON, and its erasure.

- `export_researcher`: everything the service holds about the researcher: its account, its profile with both
  contact fields and their settings, every seed (drafts and withdrawn ones too), and the audit log's record of
  who was shown its contact details (the principal may ask for that record), and the introduction requests
  (紹介依頼, issue 15) addressed to it: who asked, the message, the answer and its reason, whether or not the
  researcher answers them itself (the liaison office may have answered for it).
- `erase_researcher`: in one transaction, the profile and every seed are deleted through the one write path
  (`usecases.erase_researcher`: a change row per seed, so every worker's index drops them), the stored passage
  vectors of those seeds' texts that no other seed shares are deleted, and the researcher's account is
  anonymised and disabled: its name replaced, its tokens revoked, its web sessions and idempotency answers
  deleted. An audit row records the erasure (ids only). After the commit the files of the report jobs that name
  one of its seeds are deleted (api/reports_jobs.py). Audit rows about the researcher stay: they hold only its
  former id, and the law asks for the record of provisions to be kept.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from matcher.index import fingerprint

from . import audit, introductions, reports_jobs, usecases
from .auth import end_sessions
from .embeddings import Embedding
from .introduction_models import IntroductionRequest, IntroductionStatus
from .models import (
    Account,
    AccountPublic,
    ApiToken,
    Researcher,
    ResearcherBase,
    ResearcherContact,
    Seed,
    SeedPublic,
    stored_id,
    utcnow,
)
from .present import seed_public
from .security_models import IdempotencyRecord
from .service import MatchService, passage_text

ERASED_NAME = "削除された研究者"


class ResearcherSelf(ResearcherBase, ResearcherContact):
    """The profile as its researcher sees it: both contact fields and their settings."""

    id: int
    organisation_id: int
    created_at: datetime


class IntroductionReceived(BaseModel):
    """An introduction request addressed to the researcher, as its export shows it."""

    id: int
    requester: str = Field(description="依頼したニーズ投稿者（組織の名前、なければアカウントの名前）")
    university: str = Field(description="依頼が届いた大学（産学連携窓口）")
    partner_name: str = Field(description="依頼の宛先として示された連携先の名前")
    message: str = Field(description="依頼者のメッセージ")
    status: IntroductionStatus = Field(
        description="pending: 回答待ち／accepted: 承諾（連絡先を依頼者に示した）／declined: 辞退")
    reason: str | None = Field(description="承諾・辞退の理由（回答がなければ null）")
    created_at: datetime = Field(description="依頼の日時")
    answered_at: datetime | None = Field(description="回答の日時（回答がなければ null）")


class ResearcherExport(BaseModel):
    exported_at: datetime
    account: AccountPublic | None
    researcher: ResearcherSelf
    seeds: list[SeedPublic]
    contact_disclosures: list[audit.AuditPublic]  # who was shown this researcher's e-mail or phone, newest first
    introductions: list[IntroductionReceived] = Field(
        description="この研究者あての紹介依頼（古い順）: 依頼者・メッセージ・回答と理由")


class ErasureOut(BaseModel):
    researcher_id: int
    seeds_deleted: list[int]
    report_jobs_cleared: list[int]  # jobs whose files named one of the seeds, deleted
    account_disabled: bool
    message: str


def export_researcher(session: Session, who: Account, researcher: Researcher) -> ResearcherExport:
    """The researcher's data as JSON; the export itself is recorded."""
    researcher_id = stored_id(researcher)
    account = session.get(Account, researcher.account_id) if researcher.account_id else None
    seeds = session.exec(select(Seed).where(Seed.researcher_id == researcher_id).order_by(col(Seed.id))).all()
    shown, _ = audit.entries(session, limit=10_000, offset=0, researcher_id=researcher_id,
                             action=audit.AuditAction.contact_shown.value)
    export = ResearcherExport(
        exported_at=utcnow(),
        account=AccountPublic(**account.model_dump(), researcher_id=researcher_id) if account else None,
        researcher=ResearcherSelf.model_validate(researcher, from_attributes=True),
        seeds=[seed_public(session, seed) for seed in seeds], contact_disclosures=shown,
        introductions=_introductions(session, who, researcher_id))
    audit.record(session, audit.AuditAction.researcher_exported, who, researcher_id=researcher_id)
    session.commit()
    return export


def _introductions(session: Session, who: Account, researcher_id: int) -> list[IntroductionReceived]:
    """The requests addressed to the researcher, oldest first, as api/introductions.py presents them (no contact)."""
    rows = session.exec(select(IntroductionRequest).where(col(IntroductionRequest.researcher_id) == researcher_id)
                        .order_by(col(IntroductionRequest.id))).all()
    return [IntroductionReceived.model_validate(introductions.out(session, who, row, with_contact=False),
                                                from_attributes=True) for row in rows]


def erase_researcher(session: Session, service: MatchService, data_dir: Path, who: Account,
                     researcher: Researcher) -> ErasureOut:
    """Delete the researcher's profile and seeds, anonymise its account, and delete the reports that name it."""
    researcher_id = stored_id(researcher)
    seeds = list(session.exec(select(Seed).where(Seed.researcher_id == researcher_id)).all())
    first_seed = min((seed.created_at for seed in seeds), default=None)
    _forget_vectors(session, service, seeds)
    account = session.get(Account, researcher.account_id) if researcher.account_id else None
    if account is not None:
        _retire_account(session, account)
    audit.record(session, audit.AuditAction.researcher_erased, who, researcher_id=researcher_id)
    seed_ids = usecases.erase_researcher(session, service, researcher)  # commits all of the above
    cleared = reports_jobs.forget_seeds(session, data_dir, set(seed_ids), first_seed)
    return ErasureOut(researcher_id=researcher_id, seeds_deleted=seed_ids, report_jobs_cleared=cleared,
                      account_disabled=account is not None,
                      message=f"研究者（ID: {researcher_id}）の情報とシーズ {len(seed_ids)} 件を削除しました。"
                              + ("アカウントは停止しました。" if account is not None else ""))


def _forget_vectors(session: Session, service: MatchService, seeds: list[Seed]) -> None:
    """Delete the stored vectors (current model) of the seeds' texts, except those another seed's text shares."""
    erased = {stored_id(seed) for seed in seeds}
    model_id = service.encoder.name
    for seed in seeds:
        text = passage_text(seed)
        others = session.exec(select(Seed).where(Seed.title == seed.title, col(Seed.id).not_in(erased))).all()
        if any(passage_text(other) == text for other in others):
            continue
        row = session.get(Embedding, (model_id, fingerprint(text, model_id)))
        if row is not None:
            session.delete(row)


def _retire_account(session: Session, account: Account) -> None:
    """The account keeps its id (needs and jobs name it) but loses its name and every way in."""
    account.name = ERASED_NAME
    account.disabled = True
    session.add(account)
    now = utcnow()
    for token in session.exec(select(ApiToken).where(ApiToken.account_id == account.id)).all():
        if token.revoked_at is None:
            token.revoked_at = now
            session.add(token)
    end_sessions(session, account_id=stored_id(account))
    for record in session.exec(select(IdempotencyRecord).where(IdempotencyRecord.account_id == account.id)).all():
        session.delete(record)



