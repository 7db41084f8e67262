"""Engine results and table rows → public API shapes, with researcher contacts filtered per reader.

Every contact field that goes out is written to the audit log first (api/audit.py): `researcher_public` for a
profile, `match_out` for a match result (the API's and the results pages' alike), one row per field per answer.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from matcher.results import MatchResult
from matcher.serialize import match_result_to_dict

from . import audit
from .access import may_see_contact
from .models import (
    Account,
    ContactPublic,
    ContactSettings,
    Need,
    NeedPublic,
    Organisation,
    Researcher,
    ResearcherPublic,
    Role,
    Seed,
    SeedPublic,
    stored_id,
)
from .researcher_links import kaken_url, researchmap_url
from .schemas import MatchOut


def _researcher_view(researcher: Researcher, reader: Account | None) -> ResearcherPublic:
    contact = ContactPublic(
        email=researcher.email if may_see_contact(researcher.email_visibility, researcher, reader) else None,
        phone=researcher.phone if may_see_contact(researcher.phone_visibility, researcher, reader) else None,
    )
    own = reader is not None and (reader.role == Role.admin or reader.id == researcher.account_id)
    settings = ContactSettings(email_visibility=researcher.email_visibility,
                               phone_visibility=researcher.phone_visibility,
                               receives_introductions=researcher.receives_introductions) if own else None
    return ResearcherPublic(id=stored_id(researcher), organisation_id=researcher.organisation_id, name=researcher.name,
                            kana=researcher.kana, department=researcher.department, position=researcher.position,
                            researchmap_id=researcher.researchmap_id, kaken_id=researcher.kaken_id,
                            researchmap_url=researchmap_url(researcher.researchmap_id),
                            kaken_url=kaken_url(researcher.kaken_id), contact=contact, settings=settings)


def _shown(researcher: Researcher, public: ResearcherPublic) -> tuple[int, int | None, list[str]]:
    fields = [name for name in ("email", "phone") if getattr(public.contact, name) is not None]
    return stored_id(researcher), researcher.account_id, fields


def researcher_public(session: Session, researcher: Researcher, reader: Account | None) -> ResearcherPublic:
    """The profile as `reader` may see it; the contact fields it shows are recorded (and committed) first."""
    public = _researcher_view(researcher, reader)
    audit.record_contacts(session, reader, [_shown(researcher, public)])
    return public


def seed_public(session: Session, seed: Seed) -> SeedPublic:
    org = session.get_one(Organisation, seed.organisation_id)
    return SeedPublic(**seed.model_dump(), university=org.name, prefecture_code=org.prefecture_code)


def need_public(session: Session, need: Need) -> NeedPublic:
    org = session.get(Organisation, need.organisation_id) if need.organisation_id else None
    return NeedPublic(**need.model_dump(), poster=org.name if org else None)


def match_out(session: Session, result: MatchResult, reader: Account, need_id: int | None = None) -> MatchOut:
    data = match_result_to_dict(result)
    cache: dict[int, ResearcherPublic | None] = {}
    shown: list[tuple[int, int | None, list[str]]] = []

    def researcher(record: dict[str, Any] | None) -> ResearcherPublic | None:
        if not record or record.get("id") is None:
            return None
        rid = record["id"]
        if rid not in cache:
            row = session.get(Researcher, rid)
            view = _researcher_view(row, reader) if row else None
            cache[rid] = view
            if row is not None and view is not None:
                shown.append(_shown(row, view))  # once per researcher per answer
        return cache[rid]

    for partner in [*data["partners"], *([data["best_in_region"]] if data["best_in_region"] else [])]:
        partner["researcher"] = researcher(partner["researcher"])
        for hit in partner["seeds"]:
            hit["researcher"] = researcher(hit["researcher"])
    audit.record_contacts(session, reader, shown)
    return MatchOut(need_id=need_id, **data)
