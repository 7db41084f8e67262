"""Ranking metrics over one query: a ranked list of ids against the judged relevance of some of them.

Shared by the benchmarks (bench.py) and the ranker's cross-validation (ranker/cv.py), so that a figure
means the same wherever it is printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

Relevance = Mapping[str, float]  # judged id → relevance (> 0)
Metric = Callable[[Sequence[str], Relevance, int], float]


def recall_at(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def mrr_at(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Relevance, k: int) -> float:
    gains = [relevant.get(doc, 0.0) for doc in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0
