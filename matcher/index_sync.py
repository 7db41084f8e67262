"""Keeping a collection in line with its source texts: only what is new or changed is re-embedded.

A text's fingerprint (its hash with the model's name) says whether the stored vector is still its own;
the engine's `sync_*`, `upsert_*` and `open` go through here. The index follows the database through the
API service (api/service.py) and the corpus files through the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .embed import TextEncoder
from .errors import IndexFormatError
from .index import Collection, fingerprint
from .results import SyncReport
from .text import JapaneseTokenizer

ProgressCallback = Callable[[int, int], None]  # (done, total)


def saved_or_empty(empty: Collection, directory: Path) -> Collection:
    """The index saved in `directory`, or `empty` where it is missing, corrupt or of another model."""
    try:
        return Collection.load(directory, expect_model=empty.model_name, expect_dim=empty.dim)
    except IndexFormatError:
        return empty  # sync_* rebuilds it from the records


def sync_collection(collection: Collection, texts: dict[int, str], encoder: TextEncoder, tokenizer: JapaneseTokenizer,
          progress: ProgressCallback | None, batch: int = 64) -> SyncReport:
    """Bring `collection` in line with `texts` (id → text): embed only what is new or changed, drop the rest."""
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
    for start in range(0, len(items), batch):
        embed_and_upsert(collection, dict(items[start:start + batch]), encoder, tokenizer)
        if progress:
            progress(min(start + batch, len(items)), len(items))
    return report


def embed_and_upsert(collection: Collection, texts: dict[int, str], encoder: TextEncoder,
                     tokenizer: JapaneseTokenizer) -> None:
    ids = list(texts)
    vectors = encoder.encode_passages([texts[i] for i in ids])
    terms = [tokenizer.terms(texts[i]) for i in ids]
    prints = [fingerprint(texts[i], collection.model_name) for i in ids]
    collection.upsert(ids, vectors, terms, prints)
