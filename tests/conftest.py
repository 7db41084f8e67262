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
