"""Synthetic vectors whose neighbours are arranged like real e5 text vectors, for measuring ANN recall (issue 16).

Random unit vectors are useless for an approximate index: in 384 dimensions every pair is nearly orthogonal,
nothing clusters, and IVF's recall says nothing about real text. Real e5 vectors are the opposite: they fill a
narrow cone (the demo corpus's ~600 passage vectors have a mean pairwise cosine of 0.83) and fall into topics.

The model, fitted to the shipped vectors of the demo corpus (corpora/vectors, `demo_vectors`):

    x = normalise(μ + α (c − μ) + β n),   α² + β² = 1,   n ~ N(0, Σ)

where μ is the real vectors' mean, Σ their covariance about it, and c a real vector drawn at random (a seed's
for seeds, a need's for queries): each synthetic vector is a real text's topic, moved by noise shaped like
the real vectors' own spread. Since α² + β² = 1 the synthetic vectors keep the real ones' mean and
covariance, so the cone and its mean cosine stay as they are; β sets how far a vector strays from its topic,
and is chosen (by bisection, `fit_spread`) so that a synthetic sample as large as the real set has the real
set's median nearest-neighbour cosine (0.91 on the demo vectors). At 10^5 vectors each real topic holds
~170 of them, and the nearest neighbours grow closer with N as they would for more real text on the same
themes. What the model cannot show is structure finer than the ~600 real topics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import demo_vectors
from .corpus import CORPUS_DIR, load_corpus
from .embed import DEFAULT_MODEL_DIR
from .index import fingerprint


@dataclass(frozen=True)
class TextLikeVectors:
    """The fitted model: real seed and need vectors as topics, with the real spread about them."""

    mean: np.ndarray  # μ, float64
    spread: np.ndarray  # a square root of Σ (rows: principal directions scaled by their deviation)
    seed_topics: np.ndarray  # real passage vectors of the demo seeds
    need_topics: np.ndarray  # and of the demo needs
    beta: float  # the share of noise; α = sqrt(1 − β²)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def draw(self, topics: np.ndarray, n: int, rng: np.random.Generator, beta: float | None = None) -> np.ndarray:
        """`n` unit float32 vectors, each about a topic drawn at random from `topics`."""
        beta = self.beta if beta is None else beta
        alpha = np.sqrt(1 - beta**2)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, 65_536):  # in blocks: float64 work arrays of 10^6 × 384 would take 3 GB
            count = min(65_536, n - start)
            centres = topics[rng.integers(0, len(topics), count)].astype(np.float64)
            noise = rng.standard_normal((count, len(self.spread))) @ self.spread
            block = self.mean + alpha * (centres - self.mean) + beta * noise
            out[start:start + count] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    def seeds(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.draw(self.seed_topics, n, rng)

    def queries(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.draw(self.need_topics, n, rng)


def median_nearest_cosine(vectors: np.ndarray) -> float:
    """The median, over the vectors, of the cosine with their nearest other vector."""
    cosines = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    np.fill_diagonal(cosines, -np.inf)
    return float(np.median(cosines.max(axis=1)))


def fit_spread(real: np.ndarray, mean: np.ndarray, spread: np.ndarray, rng: np.random.Generator) -> float:
    """β such that as many synthetic vectors as `real` have the real vectors' median nearest-neighbour cosine."""
    target = median_nearest_cosine(real)
    model = TextLikeVectors(mean, spread, real, real, 0.0)
    low, high = 0.0, 1.0  # more noise, farther neighbours: the median falls as β grows
    for _ in range(20):
        beta = (low + high) / 2
        sample = model.draw(real, len(real), np.random.default_rng(rng.integers(2**32)), beta)
        low, high = (beta, high) if median_nearest_cosine(sample) > target else (low, beta)
    return (low + high) / 2


def fit(rng_seed: int = 0) -> TextLikeVectors:
    """The model fitted to the demo corpus's shipped vectors (those of DEFAULT_MODEL_DIR's model)."""
    shipped = demo_vectors.read(demo_vectors.vectors_path(DEFAULT_MODEL_DIR.name)).as_dict()
    corpus = load_corpus(CORPUS_DIR)

    def vectors_of(texts: list[str]) -> np.ndarray:
        return np.stack([shipped[fingerprint(t, DEFAULT_MODEL_DIR.name)] for t in texts]).astype(np.float64)

    seeds = vectors_of([s.text for s in corpus.seeds])
    needs = vectors_of([n.text for n in corpus.needs])
    real = np.concatenate([seeds, needs])
    mean = real.mean(axis=0)
    # Σ = Dᵀ D / (n − 1) with D = real − μ; z @ (D / sqrt(n − 1)) then has covariance Σ (rank ≤ n − 1)
    spread = (real - mean) / np.sqrt(len(real) - 1)
    beta = fit_spread(real, mean, spread, np.random.default_rng(rng_seed))
    return TextLikeVectors(mean, spread, seeds, needs, beta)
