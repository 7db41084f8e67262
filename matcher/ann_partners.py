"""The ANN index's nprobe raised until the partners lists match the exact search's (issue 16).

ann.py calibrates nprobe on the dense candidates of sample queries, without knowing what a match does with
them. What users see is the partners list, so `calibrate_on_partners` goes on from there: on a sample of
needs (their query vectors given), it matches each in every scope with the seed index's ANN index and
without it, and doubles nprobe until the lowest, over scopes, of the mean partners' recall@10 reaches the
target. The needs and vectors should be a calibration sample, not the ones a benchmark then measures on.
It runs `len(needs) × len(SCOPES)` matches per nprobe tried: seconds at 10^5 seeds, off the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ann import choose_nprobe
from .engine import Engine
from .records import Need
from .seed_groups import SeedFilter

SCOPES = ("all", "in-region", "cross-region", "prefecture-filter")
TOP = 10


def match_in_scope(engine: Engine, need: Need, vector: np.ndarray, scope: str) -> Any:
    """`engine.match` of `need` in `scope`: an engine scope, or "prefecture-filter" (the API's
    include_prefectures: only seeds of the need's prefecture)."""
    if scope == "prefecture-filter":
        code = need.prefecture_code
        keep = SeedFilter(include_prefectures=frozenset({code} if code else ()))
        return engine.match(need.text, code, query_vector=vector, seed_filter=keep)
    return engine.match(need.text, need.prefecture_code, query_vector=vector, scope=scope)


def partners_of(engine: Engine, needs: Sequence[Need], vectors: np.ndarray,
                scopes: Sequence[str] = SCOPES) -> dict[str, list[list[str]]]:
    """scope → each need's partners (their keys, best first)."""
    return {scope: [[p.key for p in match_in_scope(engine, need, vector, scope).partners]
                    for need, vector in zip(needs, vectors, strict=True)] for scope in scopes}


def exact_partners_of(engine: Engine, needs: Sequence[Need], vectors: np.ndarray,
                      scopes: Sequence[str] = SCOPES) -> dict[str, list[list[str]]]:
    """`partners_of` with the seed index's ANN index set aside: the exact search."""
    slot = engine.seed_index.ann
    held, slot.index = slot.index, None
    try:
        return partners_of(engine, needs, vectors, scopes)
    finally:
        slot.index = held


def partner_recall(found: Sequence[Sequence[str]], exact: Sequence[Sequence[str]], k: int = TOP) -> float:
    """The mean, over matches, of the share of the exact search's first `k` partners that `found` lists."""
    shares = [len(set(f[:k]) & set(e[:k])) / len(e[:k]) for f, e in zip(found, exact, strict=True) if e]
    return float(np.mean(shares)) if shares else 1.0


def calibrate_on_partners(engine: Engine, needs: Sequence[Need], vectors: np.ndarray, *, target: float = 0.99,
                          scopes: Sequence[str] = SCOPES) -> bool:
    """Raise the seed index's nprobe, from the one it has, until the partners' recall@10 meets `target` in
    every scope (module docstring). False where the collection is below the threshold or has no ANN index. An
    nprobe above `AnnSettings.max_probe_share` of the lists leaves the index unused (`AnnSlot.active`)."""
    slot = engine.seed_index.ann
    ann = slot.index if len(engine.seed_index) >= slot.settings.threshold else None
    if ann is None:
        return False
    exact = exact_partners_of(engine, needs, vectors, scopes)

    def recall(_: object) -> float:
        found = partners_of(engine, needs, vectors, scopes)
        return min(partner_recall(found[scope], exact[scope]) for scope in scopes)

    choose_nprobe(ann, recall, target, start=ann.nprobe)
    ann.recall_k, ann.recall_measure = TOP, f"partners list, recall@{TOP}, lowest over {len(scopes)} scopes, " \
                                            f"{len(needs)} needs"
    return True
