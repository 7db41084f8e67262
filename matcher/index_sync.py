"""Keeping a collection in line with its source texts: only a text whose vector nobody holds is embedded.

A text's fingerprint (its hash with the model's name) says whether the stored vector is still its own;
the engine's `sync_*`, `upsert_*` and `open` go through here. A vector comes, in this order, from the
collection itself (the text is unchanged), from the caller's `known` lookup (the API keeps every passage
vector in its database, by fingerprint), and only then from the encoder. The index follows the database
through the API service (api/service.py) and the corpus files through the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .embed import TextEncoder, Vectors
from .errors import IndexFormatError
from .index import Collection, fingerprint
from .results import SyncReport
from .text import JapaneseTokenizer

ProgressCallback = Callable[[int, int], None]  # (done, total)
Vector = NDArray[np.float32]  # one passage vector
# Fingerprints → the vectors already computed for those texts; a fingerprint left out is encoded. A batch
# lookup, so that a caller with a database answers a whole batch in one query.
KnownVectors = Callable[[Sequence[str]], Mapping[str, Vector]]


def saved_or_empty(empty: Collection, directory: Path) -> Collection:
    """The index saved in `directory`, or `empty` where it is missing, corrupt or of another model; loaded with
    `empty`'s ANN settings."""
    try:
        return Collection.load(directory, expect_model=empty.model_name, expect_dim=empty.dim,
                               ann=empty.ann.settings)
    except IndexFormatError:
        return empty  # sync_* rebuilds it from the records


def sync_collection(collection: Collection, texts: dict[int, str], encoder: TextEncoder, tokenizer: JapaneseTokenizer,
                    progress: ProgressCallback | None, known: KnownVectors | None = None,
                    batch: int = 64) -> SyncReport:
    """Bring `collection` in line with `texts` (id → text): embed only what is new or changed and not `known`."""
    report = SyncReport()
    stale = {}
    for item_id, text in texts.items():
        current = collection.fingerprints.get(item_id)
        if current == fingerprint(text, collection.model_name):
            report.unchanged += 1
            continue
        stale[item_id] = text
        if current is None:
            report.added += 1
        else:
            report.updated += 1
    extra = collection.ids() - set(texts)
    report.removed = collection.delete(sorted(extra)) if extra else 0
    items = list(stale.items())
    # one BM25 merge at the end, not one each time the delta outgrows its threshold: a rebuild of 10^5 seeds
    # in batches of 64 merged 97 times (27 s of O(N) work)
    auto_merge, collection.lexical.auto_merge = collection.lexical.auto_merge, False
    try:
        for start in range(0, len(items), batch):
            report.encoded += embed_and_upsert(collection, dict(items[start:start + batch]), encoder, tokenizer,
                                               known)
            if progress:
                progress(min(start + batch, len(items)), len(items))
    finally:
        collection.lexical.auto_merge = auto_merge
    if auto_merge and collection.lexical.merge_due():
        collection.lexical.merge()
    return report


def embed_and_upsert(collection: Collection, texts: dict[int, str], encoder: TextEncoder,
                     tokenizer: JapaneseTokenizer, known: KnownVectors | None = None,
                     terms: Mapping[int, Sequence[str]] | None = None) -> int:
    """Add or replace the items (id → text); returns how many texts had to be encoded.

    `terms`: the texts' BM25 terms where the caller tokenised them already (the API service does, before it
    takes its lock: 10,000 characters take ~100 ms); the rest are tokenised here.
    """
    ids = list(texts)
    prints = [fingerprint(texts[i], collection.model_name) for i in ids]
    found = _held(collection, ids, prints)
    wanted = [p for p in prints if p not in found]
    if known and wanted:
        found.update(known(wanted))
    vectors, encoded = _fill(prints, [texts[i] for i in ids], found, encoder)
    given = terms or {}
    term_lists = [given[i] if i in given else tokenizer.terms(texts[i]) for i in ids]
    collection.upsert(ids, vectors, term_lists, prints)
    return encoded


def _held(collection: Collection, ids: Sequence[int], prints: Sequence[str]) -> dict[str, Vector]:
    """The vectors the collection already holds for these very texts: an upsert that changes only the record."""
    same = [(i, p) for i, p in zip(ids, prints, strict=True) if collection.fingerprints.get(i) == p]
    vectors = collection.vectors_of([i for i, _ in same])
    return {p: vector for (_, p), vector in zip(same, vectors, strict=True)}


def _fill(prints: Sequence[str], texts: Sequence[str], found: Mapping[str, Vector],
          encoder: TextEncoder) -> tuple[Vectors, int]:
    """One vector per text: the found one, else encoded (all missing ones in one call)."""
    missing = [k for k, p in enumerate(prints) if p not in found]
    vectors = np.empty((len(prints), encoder.dim), dtype=np.float32)
    for k, p in enumerate(prints):
        if p in found:
            vectors[k] = found[p]
    if missing:
        vectors[missing] = encoder.encode_passages([texts[k] for k in missing])
    return vectors, len(missing)
