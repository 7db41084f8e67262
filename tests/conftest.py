"""Shared fixtures. The real converted model is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from matcher.embed import DEFAULT_MODEL_DIR
    from matcher.model_convert import convert

    return convert(target=DEFAULT_MODEL_DIR)  # idempotent: returns at once when already converted


@pytest.fixture(scope="session")
def encoder(model_dir):
    from matcher.embed import Encoder

    return Encoder(model_dir, threads=2)


@pytest.fixture(scope="session")
def golden_corpus():
    from matcher.corpus import load_corpus

    return load_corpus(GOLDEN)


@pytest.fixture(scope="session")
def golden_engine(encoder, golden_corpus):
    from matcher.engine import Engine

    engine = Engine(encoder, universities=golden_corpus.universities.values())
    engine.sync_seeds(golden_corpus.seeds)
    engine.sync_needs(golden_corpus.needs)
    return engine


class CountingEncoder:
    """The real encoder, counting the passages it embeds: what the "vectors are data" tests (issue 12) measure."""

    def __init__(self, inner):
        self.inner = inner
        self.passages = 0
        self.queries = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def encode_queries(self, texts):
        self.queries += len(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.passages += len(texts)
        return self.inner.encode_passages(texts)

    def count(self) -> int:
        """Passages embedded since the last call."""
        counted, self.passages = self.passages, 0
        return counted

    def count_queries(self) -> int:
        """Texts encoded as queries since the last call."""
        counted, self.queries = self.queries, 0
        return counted


@pytest.fixture(scope="module")
def cluster():
    """A local Ray of 2 CPUs, one per test module (Ray takes ~10 s to start): the sharded reports' and the Ray
    embedding's tests."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
