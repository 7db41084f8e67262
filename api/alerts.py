"""Standing alerts (issue 15): after a need or seed is written, tell the accounts that asked whose seeds or open
needs it fits, at the closeness they chose (api/alert_models.py says why a closeness band).

- A need written (posted, edited, re-opened, made public): each researcher with alerts on and one of its listed
  seeds within its band, if it may read the need (`access.can_read_need`: a confidential need reaches no
  researcher).
- A seed written (registered, edited, re-activated, published from a draft, imported): each account with alerts
  on and one of its own open needs within its band. Only a listed seed (`access.seed_is_listed`) is matched at
  all: a draft or withdrawn seed is told to no one, as it is shown to no one.

When: `after_write` runs after the write's own commit (api/usecases.py), in a transaction of its own, so a write
never waits on it for its commit and an alert never names a row that was rolled back. It needs neither the
encoder nor the service's lock: the closeness is the cosine of the need's stored query vector and the seed's
stored passage vector, both written with their texts (api/embeddings.py), read from the database and multiplied
here; the same numbers the results page shows as 「内容の近さ」.

At most once per (account, need, seed): each pair is inserted into `alert_sent` under its unique key, and only a
pair this transaction inserted is told. Another worker process computing the same pair inserts nothing (on
PostgreSQL its insert waits for the first to commit, then does nothing), so neither a PATCH that changes nothing
nor two workers tell a pair twice. The notification is in the same transaction as the pairs it tells.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from matcher.index import fingerprint
from matcher.index_sync import Vector
from matcher.results import closeness_band
from matcher.search import exact_cosines

from . import access
from .alert_models import MIN_SIMILARITY, AlertSent, AlertSetting
from .alert_settings import level_of
from .embeddings import INSERT_ROWS_PER_STATEMENT, known_vectors, stored_query_vectors
from .models import Account, Need, Organisation, Researcher, Seed, Status, stored_id, utcnow
from .notifications import notify
from .service import passage_text

LOG = logging.getLogger(__name__)
NEED_FOR_SEED = "alert_need"  # a need fits one of the researcher's seeds
SEED_FOR_NEED = "alert_seed"  # a seed fits one of the poster's open needs
T = TypeVar("T")


@dataclass(frozen=True)
class Fit:
    """A pair within the band of `account_id`; `about`: the side that was written, which the message is about."""

    account_id: int
    need: Need
    seed: Seed
    similarity: float
    about: str  # NEED_FOR_SEED or SEED_FOR_NEED


def after_write(session: Session, model_id: str, rows: Sequence[Need | Seed]) -> int:
    """Tell who asked about the needs and seeds in `rows`, just committed; returns how many pairs were told.

    A failure here is logged, not raised: the write has committed and the index follows it, and a missed alert
    must not turn the writer's success into an error page."""
    try:
        needs = _reloaded(session, Need, [r for r in rows if isinstance(r, Need)])
        seeds = _reloaded(session, Seed, [r for r in rows if isinstance(r, Seed)])
        fits = [fit for need in needs for fit in _fits_for_need(session, model_id, need)]
        fits += _fits_for_seeds(session, model_id, seeds)
        told = _tell(session, fits)
        session.commit()
        return told
    except SQLAlchemyError:
        session.rollback()
        LOG.exception("standing alerts of a write were not computed; the write itself has committed")
        return 0


# ---- which pairs fit -----------------------------------------------------------------------------
def _subscribers(session: Session) -> dict[int, tuple[Account, float]]:
    """Accounts with alerts on (and not disabled), each with the closeness its band starts at."""
    query = select(Account, AlertSetting).join(AlertSetting, col(AlertSetting.account_id) == col(Account.id)).where(
        col(AlertSetting.enabled).is_(True), col(Account.disabled).is_(False))
    return {stored_id(account): (account, MIN_SIMILARITY[level_of(setting)])
            for account, setting in session.exec(query).all()}


def _fits_for_need(session: Session, model_id: str, need: Need) -> list[Fit]:
    if need.status != Status.active:
        return []
    subscribers = {account_id: floor for account_id, (account, floor) in _subscribers(session).items()
                   if account_id != need.owner_account_id and access.can_read_need(account, need)}
    researchers = _in(session, Researcher, col(Researcher.account_id), list(subscribers))
    account_of = {stored_id(r): r.account_id for r in researchers if r.account_id is not None}
    seeds = [s for s in _in(session, Seed, col(Seed.researcher_id), list(account_of)) if access.seed_is_listed(s)]
    (query,) = stored_query_vectors(session, model_id, [passage_text(need)]) if seeds else (None,)
    seeds, vectors = _with_passage_vectors(session, model_id, seeds)
    if query is None or not seeds:
        return []
    return [Fit(account_of[seed.researcher_id], need, seed, float(similarity), NEED_FOR_SEED)
            for seed, similarity in zip(seeds, exact_cosines(query, vectors)[0], strict=True)
            if similarity >= subscribers[account_of[seed.researcher_id]]]


def _fits_for_seeds(session: Session, model_id: str, seeds: list[Seed]) -> list[Fit]:
    seeds = [s for s in seeds if access.seed_is_listed(s)]
    subscribers = {account_id: floor for account_id, (_, floor) in _subscribers(session).items()}
    if not seeds or not subscribers:
        return []
    needs, queries = _open_needs(session, model_id, list(subscribers))
    seeds, vectors = _with_passage_vectors(session, model_id, seeds)
    if not needs or not seeds:
        return []
    owners = _owner_accounts(session, seeds)
    return [Fit(need.owner_account_id, need, seed, float(similarity), SEED_FOR_NEED)
            for need, row in zip(needs, exact_cosines(queries, vectors), strict=True)
            for seed, similarity in zip(seeds, row, strict=True)
            if similarity >= subscribers[need.owner_account_id]
            and owners.get(stored_id(seed)) != need.owner_account_id]


def _open_needs(session: Session, model_id: str, owners: list[int]) -> tuple[list[Need], np.ndarray]:
    """The active needs of `owners` that have a stored query vector (every need written since they are kept),
    and those vectors, in order."""
    needs = [n for n in _in(session, Need, col(Need.owner_account_id), owners) if n.status == Status.active]
    queries = stored_query_vectors(session, model_id, [passage_text(n) for n in needs])
    kept = [(n, q) for n, q in zip(needs, queries, strict=True) if q is not None]
    return [n for n, _ in kept], np.stack([q for _, q in kept]) if kept else np.empty((0, 0), dtype=np.float32)


def _with_passage_vectors(session: Session, model_id: str, seeds: list[Seed]) -> tuple[list[Seed], np.ndarray]:
    """The seeds whose passage vector is stored (every listed seed's is), and those vectors, in order."""
    prints = [fingerprint(passage_text(s), model_id) for s in seeds]
    found: dict[str, Vector] = {}
    for chunk in _chunks(prints):
        found.update(known_vectors(session, model_id)(chunk))
    kept = [(s, found[p]) for s, p in zip(seeds, prints, strict=True) if p in found]
    if len(kept) < len(seeds):
        LOG.warning("%d seeds have no stored passage vector: no alert about them", len(seeds) - len(kept))
    return [s for s, _ in kept], np.stack([v for _, v in kept]) if kept else np.empty((0, 0), dtype=np.float32)


def _owner_accounts(session: Session, seeds: list[Seed]) -> dict[int, int | None]:
    """seed id → the account of its researcher (no one is told that its own seed fits its own need)."""
    researchers = {stored_id(r): r.account_id
                   for r in _in(session, Researcher, col(Researcher.id), list({s.researcher_id for s in seeds}))}
    return {stored_id(s): researchers.get(s.researcher_id) for s in seeds}


# ---- telling them, once --------------------------------------------------------------------------
def _tell(session: Session, fits: list[Fit]) -> int:
    """Record each pair under its unique key; one notification per account and written item, naming the closest
    pair of those not told before."""
    fresh = [fit for fit in fits if _first_time(session, fit)]
    groups: dict[tuple[int, str, int], list[Fit]] = {}
    for fit in fresh:
        written = fit.need if fit.about == NEED_FOR_SEED else fit.seed
        groups.setdefault((fit.account_id, fit.about, stored_id(written)), []).append(fit)
    for (account_id, about, _), group in groups.items():
        best = max(group, key=lambda f: f.similarity)
        message, link = _message(session, best, len(group) - 1)
        notify(session, account_id, kind=about, message=message, link=link)
    return len(fresh)


def _first_time(session: Session, fit: Fit) -> bool:
    """Insert the pair unless it is there (told before, or by another worker just now): True if this did."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AlertSent).values(
        account_id=fit.account_id, need_id=stored_id(fit.need), seed_id=stored_id(fit.seed),
        similarity=fit.similarity, created_at=utcnow()).on_conflict_do_nothing().returning(col(AlertSent.id))
    # RETURNING, not rowcount: psycopg reports -1 for an insert SQLAlchemy runs with its implicit RETURNING
    return session.connection().execute(statement).first() is not None


def _message(session: Session, fit: Fit, others: int) -> tuple[str, str]:
    closeness = f"内容の近さ {fit.similarity:.3f}・{closeness_band(fit.similarity)}"
    if fit.about == NEED_FOR_SEED:
        more = f"。ほかに {others}件のシーズにも合います" if others else ""
        return (f"ニーズ「{fit.need.title}」が、あなたのシーズ「{fit.seed.title}」に合いそうです"
                f"（{closeness}）{more}。", f"/needs/{stored_id(fit.need)}")
    university = session.get(Organisation, fit.seed.organisation_id)
    where = f"（{university.name}）" if university else ""
    more = f"。ほかに {others}件のニーズにも合います" if others else ""
    return (f"シーズ「{fit.seed.title}」{where}が、あなたのニーズ「{fit.need.title}」に合いそうです"
            f"（{closeness}）{more}。", f"/seeds/{stored_id(fit.seed)}")


# ---- reading in chunks ---------------------------------------------------------------------------
def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), INSERT_ROWS_PER_STATEMENT):
        yield items[start:start + INSERT_ROWS_PER_STATEMENT]


def _in(session: Session, table: type[T], column: Any, values: list[Any]) -> list[T]:
    """The rows of `table` whose `column` is one of `values` (an IN list per chunk, within every database's
    limit on parameters)."""
    rows: list[T] = []
    for chunk in _chunks(values):
        rows += session.exec(select(table).where(column.in_(chunk))).all()
    return rows


def _reloaded(session: Session, table: type[T], rows: list[Any]) -> list[T]:
    """The committed rows again, read together: after a commit each row is expired, and reading them one by one
    would cost a query per row (a bulk import writes 10^4). Their ids come from the identity map, unloaded."""
    ids = [identity[0] for identity in (sa_inspect(r).identity for r in rows) if identity]
    return _in(session, table, col(table.id), ids)  # type: ignore[attr-defined]
