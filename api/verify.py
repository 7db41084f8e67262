"""`matcher-admin verify-index`: the saved index snapshot against the database, by id and content fingerprint.

For seeds and needs alike, the database decides what the index should hold (`indexed`: listed seeds, active
needs) and with which text (`passage_text`); the snapshot holds, per id, the fingerprint of the text it embedded
(`matcher.index.fingerprint(text, model_id)`). Comparing the two gives four counts: 一致 (same id, same
fingerprint), 欠け (in the database, not in the snapshot), 余分 (in the snapshot only) and 内容の食い違い (both
hold the id, with different texts). A snapshot that cannot be read (missing, torn, of another model) lacks
everything.

`--repair` rewrites the snapshot from the database. The vectors come from the embedding table
(api/embeddings.py), so in the normal course nothing is encoded and the model is never loaded; it is loaded
(lazily, `LazyEncoder`) only for a text whose vector the table lacks, and the vector is then stored.

A running server writes its snapshot in the background (api/index_upkeep.py), behind its in-memory index by
up to `snapshot_interval` seconds: against a running server the latest writes may show as differences. The
check and the repair take the snapshot writers' file lock, so neither reads or writes a half-written set, and
a server that starts later verifies its snapshot in full anyway (`MatchService.start`).
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from matcher.embed import TextEncoder, Vectors
from matcher.encoder_backends import DEFAULT_BACKEND, model_name
from matcher.errors import IndexFormatError
from matcher.index import Collection, fingerprint
from matcher.index_sync import saved_or_empty, sync_collection
from matcher.results import SyncReport
from matcher.text import default_tokenizer

from . import models as m
from .change_log import latest_sequence
from .embeddings import Embedding, known_vectors, store_indexed
from .index_upkeep import LOCK_FILE
from .service import indexed, passage_text
from .settings import Settings

KINDS = ("seeds", "needs")
LABELS = {"seeds": "シーズ", "needs": "ニーズ"}
IDS_SHOWN = 20  # per list in the text summary; --json gives them all


@dataclass
class CollectionCheck:
    """One collection's snapshot against the database."""

    matching: int = 0
    missing: list[int] = field(default_factory=list)  # in the database, not in the snapshot
    extra: list[int] = field(default_factory=list)  # in the snapshot, not in the database
    mismatched: list[int] = field(default_factory=list)  # in both, with another text
    unreadable: str | None = None  # why the snapshot could not be read (then every id is missing)

    @property
    def consistent(self) -> bool:
        return self.unreadable is None and not (self.missing or self.extra or self.mismatched)


@dataclass
class IndexCheck:
    seeds: CollectionCheck
    needs: CollectionCheck

    @property
    def consistent(self) -> bool:
        return self.seeds.consistent and self.needs.consistent

    def of(self, kind: str) -> CollectionCheck:
        return self.seeds if kind == "seeds" else self.needs


@dataclass
class Outcome:
    """What the command reports: the check, and where it repaired, what it changed and the check after."""

    index_dir: Path
    before: IndexCheck
    repaired: dict[str, SyncReport] | None = None
    after: IndexCheck | None = None

    @property
    def consistent(self) -> bool:
        return (self.after or self.before).consistent

    def to_json(self) -> dict[str, Any]:
        return {
            "index_dir": str(self.index_dir),
            "consistent": self.consistent,
            "before": _check_json(self.before),
            "repaired": None if self.repaired is None else {k: asdict(r) for k, r in self.repaired.items()},
            "after": None if self.after is None else _check_json(self.after),
        }


def _check_json(check: IndexCheck) -> dict[str, Any]:
    return {kind: {**asdict(check.of(kind)), "consistent": check.of(kind).consistent} for kind in KINDS}


# ---- comparing -------------------------------------------------------------------------------------------
def database_texts(session: Session) -> dict[str, dict[int, str]]:
    """Per kind, id → the text the index should hold: what the server's start-up (`load_records`) indexes."""
    seeds = {m.stored_id(s): passage_text(s) for s in session.exec(select(m.Seed)).all() if indexed(s)}
    needs = {m.stored_id(n): passage_text(n) for n in session.exec(select(m.Need)).all() if indexed(n)}
    return {"seeds": seeds, "needs": needs}


def compare(texts: dict[int, str], collection: Collection | None, model_id: str,
            unreadable: str | None = None) -> CollectionCheck:
    """`collection` None: the snapshot could not be read, for the reason `unreadable`."""
    held = collection.fingerprints if collection is not None else {}
    check = CollectionCheck(unreadable=unreadable, extra=sorted(set(held) - set(texts)))
    for item_id in sorted(texts):
        if item_id not in held:
            check.missing.append(item_id)
        elif held[item_id] == fingerprint(texts[item_id], model_id):
            check.matching += 1
        else:
            check.mismatched.append(item_id)
    return check


def check_index(session: Session, index_dir: Path, model_id: str) -> IndexCheck:
    """The snapshot in `index_dir` (subfolders seeds/, needs/) against the database."""
    texts = database_texts(session)
    checks = {}
    with snapshot_lock(index_dir, exclusive=False):
        for kind in KINDS:
            try:
                collection: Collection | None = Collection.load(index_dir / kind, expect_model=model_id)
                reason = None
            except IndexFormatError as e:
                collection, reason = None, str(e)
            checks[kind] = compare(texts[kind], collection, model_id, reason)
    return IndexCheck(seeds=checks["seeds"], needs=checks["needs"])


@contextmanager
def snapshot_lock(index_dir: Path, *, exclusive: bool) -> Iterator[None]:
    """The lock the server's snapshot writer takes (api/index_upkeep.py), so no set is read or written half-way.

    Where the folder does not exist, there is no snapshot to read and nobody writing one: no lock.
    """
    if not exclusive and not index_dir.is_dir():
        yield
        return
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield  # closing the file releases the lock


# ---- repairing -------------------------------------------------------------------------------------------
class LazyEncoder:
    """The model, loaded only when a text must be encoded: a repair from stored vectors never needs it."""

    def __init__(self, model_dir: Path, *, dim: int | None, threads: int, backend: str = DEFAULT_BACKEND):
        self.model_dir = Path(model_dir)
        self.backend = backend
        self.name = model_name(self.model_dir, backend)  # what `Encoder.name` is, known without loading anything
        self.threads = threads
        self._dim = dim
        self._loaded: TextEncoder | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def dim(self) -> int:
        return self._dim if self._dim is not None else self._model().dim

    def _model(self) -> TextEncoder:
        if self._loaded is None:
            from matcher.embed import Encoder

            self._loaded = Encoder(self.model_dir, threads=self.threads, backend=self.backend)
            if self._loaded.name != self.name:
                raise RuntimeError(f"model name {self._loaded.name!r} is not the folder's {self.name!r}")
        return self._loaded

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._model().encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        return self._model().encode_passages(texts)


def stored_dim(session: Session, model_id: str) -> int | None:
    """The model's vector dimension as the embedding table records it; None when it holds none of its vectors."""
    return session.exec(select(Embedding.dim).where(Embedding.model_id == model_id).limit(1)).first()


def repair_index(session: Session, index_dir: Path, encoder: LazyEncoder) -> dict[str, SyncReport]:
    """Rewrite the snapshot so that it holds exactly the database's items, from stored vectors where it can."""
    # read before the tables, like the server's snapshot writer: the snapshot reflects at least this sequence
    # (start-up compares the snapshot in full anyway, so the tag is a hint, never trusted)
    sequence = latest_sequence(session)
    texts = database_texts(session)
    known = known_vectors(session, encoder.name)
    tokenizer = default_tokenizer()
    reports, collections = {}, []
    with snapshot_lock(index_dir, exclusive=True):
        for kind in KINDS:
            collection = saved_or_empty(Collection(encoder.dim, encoder.name), index_dir / kind)
            reports[kind] = sync_collection(collection, texts[kind], encoder, tokenizer, None, known)
            collection.save(index_dir / kind, applied_sequence=sequence)
            collections.append(collection)
    store_indexed(session, encoder.name, collections)  # what had to be encoded is kept for the server
    session.commit()
    return reports


def verify_index(session: Session, settings: Settings, *, repair: bool = False) -> Outcome:
    """The command's work: check, and with `repair`, rewrite what differs and check again."""
    index_dir = settings.resolved_index_dir
    model_id = settings.encoder_model_id  # `Encoder.name`, without loading the model
    outcome = Outcome(index_dir=index_dir, before=check_index(session, index_dir, model_id))
    if repair and not outcome.before.consistent:
        encoder = LazyEncoder(settings.model_dir, dim=stored_dim(session, model_id), threads=settings.threads,
                              backend=settings.encoder_backend)
        outcome.repaired = repair_index(session, index_dir, encoder)
        outcome.after = check_index(session, index_dir, model_id)
    return outcome


# ---- reporting -------------------------------------------------------------------------------------------
def summary_lines(outcome: Outcome) -> list[str]:
    """The Japanese summary the command prints."""
    lines = [f"索引の照合（{outcome.index_dir}）"]
    lines += _check_lines(outcome.before)
    if outcome.repaired is not None and outcome.after is not None:
        encoded = sum(r.encoded for r in outcome.repaired.values())
        lines.append(f"修復: データベースから索引を書き直しました（新たに埋め込んだ文章 {encoded} 件）。")
        for kind in KINDS:
            r = outcome.repaired[kind]
            lines.append(f"  {LABELS[kind]}: 追加 {r.added}、更新 {r.updated}、削除 {r.removed}")
        lines.append("修復後の照合")
        lines += _check_lines(outcome.after)
    lines.append("結果: 一致しています。" if outcome.consistent
                 else "結果: 食い違いがあります（--repair で修復できます）。")
    return lines


def _check_lines(check: IndexCheck) -> list[str]:
    lines = []
    for kind in KINDS:
        c = check.of(kind)
        lines.append(f"  {LABELS[kind]}: 一致 {c.matching}、欠け {len(c.missing)}、余分 {len(c.extra)}、"
                     f"内容の食い違い {len(c.mismatched)}")
        if c.unreadable:
            lines.append(f"    {c.unreadable}")
        for label, ids in (("欠け", c.missing), ("余分", c.extra), ("内容の食い違い", c.mismatched)):
            if ids:
                more = f" ほか {len(ids) - IDS_SHOWN} 件" if len(ids) > IDS_SHOWN else ""
                lines.append(f"    {label}: ID " + ", ".join(map(str, ids[:IDS_SHOWN])) + more)
    return lines


def json_text(outcome: Outcome) -> str:
    return json.dumps(outcome.to_json(), ensure_ascii=False, indent=2)
