"""The writes: post, change and withdraw needs and seeds; change researchers; add organisations and researchers.

The JSON routes and the web pages both call these, after each has read its input in its own way (a JSON body,
a form) and checked the caller's role with its own wording. Every write ends in `_commit`, the one place that
commits a row, in the same transaction as its change rows (api/change_log.py) that every worker's index follows,
so no route can leave an index behind the database.
A need's or seed's passage vector is found or computed there before the commit and stored in the same
transaction (api/embeddings.py), so the service's lock is never held while the encoder runs, and a write that
leaves the text as it was encodes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from sqlmodel import Session, SQLModel, select

from matcher.index_sync import Vector
from matcher.places import default_places

from . import access, alerts
from .change_log import ChangeKind, record_change
from .embeddings import need_query_vector, passage_vector, store_vectors
from .errors import ApiError, ErrorDetail, forbidden
from .models import (
    Account,
    Need,
    NeedCreate,
    NeedUpdate,
    Organisation,
    OrganisationCreate,
    OrgKind,
    Researcher,
    ResearcherCreate,
    ResearcherUpdate,
    Role,
    Seed,
    SeedCreate,
    SeedUpdate,
    Status,
    stored_id,
    utcnow,
)
from .service import MatchService, indexed, passage_text

Row = TypeVar("Row", Need, Seed, Researcher, Organisation)

# fields a client may leave out of an update but never erase with an explicit null
NEED_REQUIRED = {"title", "description", "prefecture_code", "market_areas", "visibility"}
SEED_REQUIRED = {"title", "summary", "keywords", "market_areas", "visibility"}
RESEARCHER_REQUIRED = {"name", "email_visibility", "phone_visibility", "receives_introductions"}


# ---- the one commit ------------------------------------------------------------------------------
def _commit(session: Session, service: MatchService, row: Row) -> Row:
    """Save `row`, its passage vector (where new) and its change rows in one transaction; then apply the change
    log to this worker's index before answering, so the writer reads its own write. Other workers pick the
    change up from the log (api/follower.py)."""
    if isinstance(row, (Need, Seed)):
        row.updated_at = utcnow()
        _store_passage_vector(session, service, row)
    session.add(row)
    session.flush()  # a new row gets its id, which its change row names
    for kind, item_id in _changes_of(session, row):
        record_change(session, kind, item_id)
    session.commit()
    session.refresh(row)
    service.catch_up()
    if isinstance(row, (Need, Seed)):  # after the commit, in a transaction of its own (api/alerts.py)
        alerts.after_write(session, service.encoder.name, [row])
    return row


def _store_passage_vector(session: Session, service: MatchService, row: Need | Seed) -> None:
    """Find or compute the vector of the text the index will hold for `row`: before the commit, so the embedding
    row is committed with the text, and outside the service's lock, so no match waits for the encoder. Nothing
    for what is not indexed (a withdrawn item, a draft seed): its vector is found or computed when it is indexed
    again."""
    if indexed(row):
        passage_vector(session, service.encoder, passage_text(row))
        if isinstance(row, Need):  # its matches and reports read it instead of encoding the need again
            need_query_vector(session, service.encoder, passage_text(row))


def _changes_of(session: Session, row: Need | Seed | Researcher | Organisation) -> list[tuple[ChangeKind, int]]:
    """What the index must look at again after `row` changed."""
    if isinstance(row, Need):
        return [(ChangeKind.need, stored_id(row))]
    if isinstance(row, Seed):
        return [(ChangeKind.seed, stored_id(row))]
    if isinstance(row, Organisation):
        return [(ChangeKind.university, stored_id(row))] if row.kind == OrgKind.university else []
    # a researcher's name and department appear in the match results of each of its seeds
    seeds = session.exec(select(Seed).where(Seed.researcher_id == row.id)).all()
    return [(ChangeKind.seed, stored_id(seed)) for seed in seeds]


def _apply(row: SQLModel, changes: SQLModel, *, required: set[str]) -> None:
    """Copy the fields the client sent; an explicit null never erases a required field."""
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is None and name in required:
            continue
        setattr(row, name, value)


# ---- needs -------------------------------------------------------------------------------------------
def create_need(session: Session, service: MatchService, account: Account, body: NeedCreate) -> Need:
    """A need posted by `account` (a poster or an admin: the caller has checked the role)."""
    need = Need(**body.model_dump(), owner_account_id=stored_id(account), organisation_id=account.organisation_id)
    return _commit(session, service, need)


def update_need(session: Session, service: MatchService, account: Account, need_id: int, body: NeedUpdate) -> Need:
    need = access.writable_need(session, account, need_id)
    _apply(need, body, required=NEED_REQUIRED)
    try:  # checked on the merged row: a new prefecture must still hold the need's municipality
        need.municipality_code = default_places().need_municipality_code(need.municipality_code, need.prefecture_code)
    except ValueError as e:
        session.rollback()
        raise ApiError(422, "validation_error", "入力内容を確認してください。",
                       [ErrorDetail(field="municipality_code", message=str(e))]) from e
    return _commit(session, service, need)


def withdraw_need(session: Session, service: MatchService, account: Account, need_id: int) -> Need:
    need = access.writable_need(session, account, need_id)
    need.status = Status.withdrawn
    return _commit(session, service, need)


def reopen_need(session: Session, service: MatchService, account: Account, need_id: int) -> Need:
    """A withdrawn need active again: listed (if public) and matched as before. Only a withdrawn one: re-opening an
    open need is a mistake worth saying (409), not a silent write."""
    need = access.writable_need(session, account, need_id)
    if need.status != Status.withdrawn:
        raise ApiError(409, "conflict", "このニーズは取り下げられていないので、再開する必要はありません。")
    need.status = Status.active
    return _commit(session, service, need)


# ---- seeds -------------------------------------------------------------------------------------------
def _registrant(session: Session, account: Account, researcher_id: int | None) -> Researcher:
    """Whose seed it is: a researcher's own; an admin names one."""
    if account.role == Role.researcher:
        me = access.researcher_of(session, account)
        if me is None:
            raise forbidden("このアカウントには研究者情報が結び付いていません。管理者に登録を依頼してください。")
        if researcher_id not in (None, me.id):
            raise forbidden("他の研究者の名義でシーズを登録することはできません。")
        return me
    if researcher_id is None:
        raise ApiError(422, "validation_error", "researcher_id を指定してください。")
    researcher = session.get(Researcher, researcher_id)
    if researcher is None:
        raise ApiError(422, "validation_error", f"研究者（ID: {researcher_id}）が見つかりません。")
    return researcher


def create_seed(session: Session, service: MatchService, account: Account, body: SeedCreate) -> Seed:
    """A seed registered by a researcher in its own name, or by an admin for `body.researcher_id`."""
    researcher = _registrant(session, account, body.researcher_id)
    seed = Seed(**body.model_dump(exclude={"researcher_id"}), researcher_id=stored_id(researcher),
                organisation_id=researcher.organisation_id)
    return _commit(session, service, seed)


def update_seed(session: Session, service: MatchService, account: Account, seed_id: int, body: SeedUpdate) -> Seed:
    seed = access.writable_seed(session, account, seed_id)
    _apply(seed, body, required=SEED_REQUIRED)
    return _commit(session, service, seed)


def withdraw_seed(session: Session, service: MatchService, account: Account, seed_id: int) -> Seed:
    seed = access.writable_seed(session, account, seed_id)
    seed.status = Status.withdrawn
    return _commit(session, service, seed)


def reactivate_seed(session: Session, service: MatchService, account: Account, seed_id: int) -> Seed:
    """A withdrawn seed active again, with the visibility it had (a draft stays a draft, out of the index)."""
    seed = access.writable_seed(session, account, seed_id)
    if seed.status != Status.withdrawn:
        raise ApiError(409, "conflict", "このシーズは取り下げられていないので、再開する必要はありません。")
    seed.status = Status.active
    return _commit(session, service, seed)


def save_imported_seeds(session: Session, service: MatchService | None, seeds: list[Seed],
                        vectors: Mapping[str, Vector], model_id: str) -> list[Seed]:
    """The seeds of one bulk import (api/seed_import_run.py), new and changed, in one transaction: all or none.

    Per seed it stores what `_commit` stores for one: the row, its change row, and its passage vector, which the
    caller found or computed beforehand for the whole file with batched encoder calls outside any lock and
    transaction (`vectors`, by fingerprint under `model_id`; those the table already holds are absent). Without
    a service (the CLI) the servers' followers pick the change rows up; with one, this worker's index follows
    before the caller answers."""
    store_vectors(session, model_id, vectors)
    now = utcnow()
    for seed in seeds:
        seed.updated_at = now
        session.add(seed)
    session.flush()  # new seeds get the ids their change rows name
    for seed in seeds:
        record_change(session, ChangeKind.seed, stored_id(seed))
    session.commit()
    if service is not None:
        service.catch_up()
    alerts.after_write(session, model_id, seeds)  # new seeds fit open needs too (api/alerts.py)
    return seeds


# ---- organisations and researchers -------------------------------------------------------------------
def create_organisation(session: Session, service: MatchService, body: OrganisationCreate) -> Organisation:
    return _commit(session, service, Organisation(**body.model_dump()))


def create_researcher(session: Session, service: MatchService, body: ResearcherCreate) -> Researcher:
    org = session.get(Organisation, body.organisation_id)
    if org is None or org.kind != OrgKind.university:
        raise ApiError(422, "validation_error", "研究者の所属には、登録済みの大学を指定してください。")
    return _commit(session, service, Researcher(**body.model_dump()))


def update_researcher(session: Session, service: MatchService, account: Account, researcher_id: int,
                      body: ResearcherUpdate) -> Researcher:
    researcher = access.writable_researcher(session, account, researcher_id)
    _apply(researcher, body, required=RESEARCHER_REQUIRED)
    return _commit(session, service, researcher)


def erase_researcher(session: Session, service: MatchService, researcher: Researcher) -> list[int]:
    """Delete `researcher` and every seed of it (issue 14: a researcher's erasure under APPI) with a change row per
    seed, in one transaction, so every worker's index drops the seeds (api/follower.py finds no row: removed).
    The caller has checked who may, and may have added to the same transaction what goes with it (api/erasure.py).
    Returns the ids of the seeds deleted."""
    seeds = session.exec(select(Seed).where(Seed.researcher_id == researcher.id)).all()
    seed_ids = [stored_id(seed) for seed in seeds]
    for seed in seeds:
        session.delete(seed)
    session.flush()  # the seeds go before the researcher their foreign key names
    session.delete(researcher)
    for seed_id in seed_ids:
        record_change(session, ChangeKind.seed, seed_id)
    session.commit()
    service.catch_up()
    return seed_ids
