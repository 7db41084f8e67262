"""The demo corpus's vectors, shipped with the project so that a fresh `make run` embeds nothing.

Two files per model, in corpora/vectors/ (`vectors_path`):

- `<model id>.npz`, the passage vector of every seed and need text (`build`), what the index holds;
- `<model id>_query.npz`, the *query* vector of every need text (`build_queries`), under the model id
  `matcher.index.query_key(model id)` ("<model id>#query"), what a match of a demo need reads (a need's write
  stores the same for a need posted later, api/embeddings.py `need_query_vector`), so that it encodes nothing.

Each holds

    model_id       the encoder's name (`TextEncoder.name`), or its query key, as a 0-d string array
    fingerprints   the texts' `matcher.index.fingerprint(text, model_id)`, 16 hex characters each (bytes)
    vectors        one float32 row per fingerprint, as the encoder returned it

A need's text is `Need.text` (`records.need_text(title, description)`), the very text the API keys a need's
query vector on (api/service.py `passage_text`). A fingerprint already carries the model id, so a vector is
found only for the very text it was computed from under that model and kind: a text edited after the file was
written, or another model, misses and is embedded as before. float32 rather than float16: the files stay
around 1 MB for the demo's ~600 texts, and the stored vectors are the encoder's own, so the demo's rankings
are exactly those of a start that embedded them.

`matcher demo-vectors` writes both files (`build`, `build_queries` + `write`); the API's demo loader
(api/demo.py) reads every file (`read_all`) into the database's embedding table. `missing` says which demo
texts a file lacks (`texts_for` its model id: a query file covers the needs only; a test fails on a stale
file, telling to run the command again).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpus import CORPUS_DIR, Corpus
from .embed import TextEncoder, Vectors
from .index import fingerprint, is_query_key, query_key

VECTORS_DIR = CORPUS_DIR / "vectors"
REGENERATE = "matcher demo-vectors"
STORED_DTYPE = np.dtype("<f4")


@dataclass
class DemoVectors:
    model_id: str
    fingerprints: list[str]
    vectors: Vectors  # one row per fingerprint

    def as_dict(self) -> dict[str, Vectors]:
        return dict(zip(self.fingerprints, self.vectors, strict=True))


def vectors_path(model_id: str, directory: Path = VECTORS_DIR) -> Path:
    """The file of `model_id`'s vectors: its name with anything but letters, digits, '.', '-' and '_' as '_'."""
    return directory / (re.sub(r"[^A-Za-z0-9._-]", "_", model_id) + ".npz")


def demo_texts(corpus: Corpus) -> list[str]:
    """Every passage text of the corpus (seeds, then needs), each once, in corpus order."""
    texts = [seed.text for seed in corpus.seeds] + [need.text for need in corpus.needs]
    return list(dict.fromkeys(texts))


def query_texts(corpus: Corpus) -> list[str]:
    """Every need text of the corpus, each once, in corpus order: those a query file holds."""
    return list(dict.fromkeys(need.text for need in corpus.needs))


def texts_for(corpus: Corpus, model_id: str) -> list[str]:
    """The corpus texts a file of `model_id` holds: the needs' for a query key, every passage text otherwise."""
    return query_texts(corpus) if is_query_key(model_id) else demo_texts(corpus)


def build(corpus: Corpus, encoder: TextEncoder) -> DemoVectors:
    """The passage vectors of every demo text, under the encoder's name."""
    texts = demo_texts(corpus)
    vectors = np.asarray(encoder.encode_passages(texts), dtype=np.float32)
    return DemoVectors(encoder.name, fingerprints_of(texts, encoder.name), vectors)


def build_queries(corpus: Corpus, encoder: TextEncoder) -> DemoVectors:
    """The query vectors of every demo need's text, under the encoder's query key."""
    texts, model_id = query_texts(corpus), query_key(encoder.name)
    vectors = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
    return DemoVectors(model_id, fingerprints_of(texts, model_id), vectors)


def write(demo: DemoVectors, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a name lacking it
        np.savez_compressed(f, model_id=np.array(demo.model_id),
                            fingerprints=np.array(demo.fingerprints, dtype="S16"),
                            vectors=np.asarray(demo.vectors, dtype=STORED_DTYPE))
    return path


def read(path: Path) -> DemoVectors:
    """The file's vectors; `ValueError` when its arrays do not fit together."""
    with np.load(path, allow_pickle=False) as data:
        model_id = str(data["model_id"])
        prints = [p.decode("ascii") for p in data["fingerprints"].tolist()]
        vectors = np.asarray(data["vectors"], dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(prints):
        raise ValueError(f"{path}: {len(prints)} fingerprints but vectors of shape {vectors.shape}")
    return DemoVectors(model_id, prints, vectors)


def read_all(directory: Path) -> list[DemoVectors]:
    """Every model's file in `directory` (none where it does not exist)."""
    return [read(path) for path in sorted(directory.glob("*.npz"))] if directory.is_dir() else []


def missing(corpus: Corpus, demo: DemoVectors) -> list[str]:
    """The corpus texts the file has no vector for (each cut to 40 characters): empty when it is current."""
    held = set(demo.fingerprints)
    return [text[:40] for text in texts_for(corpus, demo.model_id) if fingerprint(text, demo.model_id) not in held]


def fingerprints_of(texts: Sequence[str], model_id: str) -> list[str]:
    return [fingerprint(t, model_id) for t in texts]
