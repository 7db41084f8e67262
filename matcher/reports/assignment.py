"""The capped assignment: each need gets partners, no university more than `cap` needs.

It compares a greedy assignment under the cap with the unconstrained one
(every need its own best partners): how many needs still get a partner, and
how much score the cap costs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..errors import InvalidInputError
from .aggregate import Groups
from .candidates import SeedTable
from .model import AssignmentReport, NeedReport, ReportOptions


class Pick(NamedTuple):
    """A partner given to a need."""

    univ: int
    score: float
    similarity: float  # best seed's cosine


Picks = dict[int, list[Pick]]  # need index → its partners


def constrained_assignment(needs: list[NeedReport], groups: Groups, table: SeedTable | None,
                           options: ReportOptions) -> AssignmentReport:
    """Give each need `per_need` partners, at most `cap` needs per university.

    Greedy by score over the (need, university) pairs, best first: a pair is
    taken when the need still has room and the university is under its cap.
    Not a maximum-weight matching, but it never gives a pair away for a worse
    one. Only each need's best KEEP_PER_NEED partners are considered; a need
    all of whose partners are full stays without a partner and lowers coverage.
    """
    cap, per_need = options.assignment_cap, options.assignment_per_need
    if cap is None or cap < 1 or per_need < 1:
        raise InvalidInputError("上限（cap）と件数は1以上で指定してください。")
    capped = greedy_under_cap(groups, cap, per_need)
    free = unconstrained(groups, per_need)
    capped_load, free_load = university_load(capped), university_load(free)
    n, threshold = len(needs), options.unmet_threshold

    def name(u: int) -> str:
        return table.universities[u] if table is not None else str(u)

    return AssignmentReport(
        cap=cap, per_need=per_need,
        assigned_needs=sum(1 for i in range(n) if capped.get(i)),
        coverage=_share(n, lambda i: len(capped.get(i, [])) >= per_need),
        coverage_met=_share(n, lambda i: _best_similarity(capped, i) >= threshold),
        coverage_met_unconstrained=_share(n, lambda i: _best_similarity(free, i) >= threshold),
        mean_score=mean_per_slot(capped, n, per_need),
        mean_score_unconstrained=mean_per_slot(free, n, per_need),
        changed_needs=sum(1 for i in range(n) if _universities_of(capped, i) != _universities_of(free, i)),
        max_load_before=max(free_load.values(), default=0), max_load_after=max(capped_load.values(), default=0),
        universities_used_before=len(free_load), universities_used_after=len(capped_load),
        assignments={needs[i].need_id: [name(p.univ) for p in parts] for i, parts in sorted(capped.items())},
    )


def greedy_under_cap(groups: Groups, cap: int, per_need: int) -> Picks:
    """Pairs best score first (ties: university order), each taken while both sides have room."""
    load: Counter[int] = Counter()
    picks: Picks = defaultdict(list)
    for j in np.lexsort((groups.univ, -groups.score)).tolist():
        i, u = int(groups.need_idx[j]), int(groups.univ[j])
        if len(picks.get(i, ())) >= per_need or load[u] >= cap:
            continue
        load[u] += 1
        picks[i].append(_pick(groups, j))
    return picks


def unconstrained(groups: Groups, per_need: int) -> Picks:
    """Each need's own best `per_need` partners."""
    picks: Picks = defaultdict(list)
    for a, b in zip(groups.starts[:-1].tolist(), groups.starts[1:].tolist(), strict=True):
        for j in range(a, min(b, a + per_need)):
            picks[int(groups.need_idx[j])].append(_pick(groups, j))
    return picks


def university_load(picks: Picks) -> Counter[int]:
    """Needs per university."""
    return Counter(p.univ for parts in picks.values() for p in parts)


def mean_per_slot(picks: Picks, n: int, per_need: int) -> float:
    """Mean score over all needs × per_need slots; an empty slot counts 0, so capped and free compare."""
    return sum(p.score for parts in picks.values() for p in parts) / (n * per_need) if n else 0.0


def _pick(groups: Groups, j: int) -> Pick:
    return Pick(int(groups.univ[j]), float(groups.score[j]), float(groups.similarity[j]))


def _best_similarity(picks: Picks, i: int) -> float:
    """The best seed's cosine among need i's partners; −inf without a partner (never meets a threshold)."""
    return max((p.similarity for p in picks.get(i, ())), default=float("-inf"))


def _universities_of(picks: Picks, i: int) -> set[int]:
    return {p.univ for p in picks.get(i, ())}


def _share(n: int, holds: Callable[[int], bool]) -> float:
    """The share of the needs 0..n-1 for which `holds` is true."""
    return sum(1 for i in range(n) if holds(i)) / n if n else 0.0
