"""Ranking: fusing dense and lexical scores, grouping seeds into researchers and universities,
aggregating their scores (the cross-region guarantee that reorders them is cross_region.py).

Every scoring rule lives here, as pure functions over plain data: the engine
supplies the scores and the seed records, and the explanations shown beside a
score are built apart, in explain.py.

There is one implementation of fusion and one of aggregation, and both paths
call them: `engine.match` one query at a time (`fuse` with a query's `Bounds`,
`rank_partners`), the batch report many queries at once (`fuse_scores` with one
pair of bounds per candidate, `aggregate_entries` over every (need, partner)
group of a chunk). Called for one query, the batch functions compute the same
numbers in the same order, so the page, the API and the report agree to the
last bit, not merely to a tolerance (tests/test_reports_agree.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from .records import Seed

# Weight of the dense score in the fused score; the rest is BM25.
# 0.5 is the plain min–max-normalised sum, which measured best on JSQuAD dev
# (README, "Benchmarks"); it is an engine setting (EngineSettings.dense_weight
# defaults to it), not a constant to tune per query.
DEFAULT_DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class Bounds:
    """Min and max of one score over a query's unfiltered candidates.

    Scores filtered to a scope (in-region only, say) are normalised with the
    bounds of the unfiltered candidates, so that scores of different scopes
    for one query can be compared and subtracted.
    """

    low: float
    high: float

    @classmethod
    def of(cls, scores: np.ndarray) -> Bounds:
        if scores.size == 0:
            return cls(0.0, 0.0)
        return cls(float(scores.min()), float(scores.max()))

    def normalise(self, scores: np.ndarray) -> np.ndarray:
        return normalise(scores, self.low, self.high)


def normalise(scores: np.ndarray, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
    """Min–max normalisation to [0, 1] (float32), with `low`/`high` one pair for all or one pair per score.

    The arithmetic is that of a scalar bound applied to float32 scores (the bound rounded to float32, the
    subtraction and division in float32), whether the bounds come as numbers or as arrays, so a query
    normalised alone and in a batch gives the same bits.
    """
    scores = np.asarray(scores)
    work = scores.dtype if scores.dtype.kind == "f" else np.dtype(np.float64)
    low_a, high_a = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    span = high_a - low_a
    tied = span <= 1e-12
    safe = np.where(tied, 1.0, span)  # a tied query's own rule applies below; this only avoids dividing by 0
    out: np.ndarray = np.clip((scores - low_a.astype(work)) / safe.astype(work), 0.0, 1.0).astype(np.float32)
    if np.any(tied):
        # all candidates tie: a positive score carries full weight, none carries none
        flat = ((scores > 0) & (high_a > 0)).astype(np.float32)
        out = np.where(tied, flat, out).astype(np.float32)
    return out


def fuse(dense: np.ndarray, lexical: np.ndarray, dense_bounds: Bounds, lexical_bounds: Bounds,
         dense_weight: float = DEFAULT_DENSE_WEIGHT) -> np.ndarray:
    """Weighted sum of min–max-normalised dense and BM25 scores, in [0, 1]."""
    return fuse_scores(dense, lexical, (dense_bounds.low, dense_bounds.high),
                       (lexical_bounds.low, lexical_bounds.high), dense_weight)


Pair = tuple[float, float] | tuple[np.ndarray, np.ndarray]  # (low, high): one for all scores, or one per score


def fuse_scores(dense: np.ndarray, lexical: np.ndarray, dense_bounds: Pair, lexical_bounds: Pair,
                dense_weight: float = DEFAULT_DENSE_WEIGHT) -> np.ndarray:
    """`fuse` with the bounds as (low, high), numbers or arrays with one entry per score (the batch report)."""
    return (dense_weight * normalise(dense, *dense_bounds)
            + (1 - dense_weight) * normalise(lexical, *lexical_bounds))


# ---- aggregation -------------------------------------------------------
# A partner's score from its seeds' fused scores (sorted, best first). The
# rules sit side by side so that `bench need2univ` can compare them; the
# engine's setting names the one it chose (README, "Benchmarks"). Each rule is
# data evaluated by one vectorised function (`aggregate_entries`), which the
# engine runs over one query's partners and the report over a chunk of needs.

@dataclass(frozen=True)
class Aggregation:
    """Σ over a partner's first `depth` seeds (best first) of rate**place × score (score² when `square`),
    divided by `divisor`, square-rooted when `square`. Callable on one partner's scores, best first."""

    doc: str
    depth: int | None = None  # None: every seed counts
    square: bool = False
    divisor: float = 1.0
    rate: float | None = None  # place i weighs rate**i; None: every counted place weighs 1

    def __call__(self, scores: Sequence[float]) -> float:
        values = np.asarray(scores, dtype=np.float64)
        return float(self.evaluate(values, np.zeros(len(values), dtype=np.int64), np.arange(len(values)), 1)[0])

    def evaluate(self, best_first: np.ndarray, group_of: np.ndarray, place: np.ndarray, groups: int) -> np.ndarray:
        """The rule over many groups at once: entries sorted by group, best first, with their group and place."""
        keep = place < self.depth if self.depth is not None else np.ones(len(place), dtype=bool)
        values = best_first * best_first if self.square else best_first
        if self.rate is not None:
            values = self.rate ** place * values
        # bincount adds each group's entries in order, best first: the sum a Python loop over them would give
        sums = np.bincount(group_of[keep], weights=values[keep], minlength=groups) / self.divisor
        result: np.ndarray = np.sqrt(sums) if self.square else sums
        return result


_DECAY_RATE, _DECAY_DEPTH = 0.5, 5

AGGREGATIONS: dict[str, Aggregation] = {
    "max": Aggregation("The best seed alone.", depth=1),
    # Mean over k slots of the k best seeds (missing seeds count 0), in [0, 1]. Depth up to k rewards a partner
    # with several matching seeds over one lucky hit; the cap at k stops sheer size from winning beyond that.
    "top3": Aggregation("Mean over 3 slots of the 3 best seeds.", depth=3, divisor=3),
    "top10": Aggregation("Mean over 10 slots of the 10 best seeds.", depth=10, divisor=10),
    # Root mean square over k slots: depth counts, but squaring makes one strong seed outweigh several weak
    # ones, so a small university with the one right seed is not buried under a large one with ten loose ones.
    "rms10": Aggregation("Root mean square over 10 slots of the 10 best seeds.", depth=10, square=True, divisor=10),
    "decay": Aggregation("Best seed plus a halving share of the next ones, normalised to [0, 1].",
                         depth=_DECAY_DEPTH, rate=_DECAY_RATE,
                         divisor=sum(_DECAY_RATE**i for i in range(_DECAY_DEPTH))),
    "sum": Aggregation("Every candidate seed counts: closest to the popularity baseline."),
}


@dataclass
class GroupScores:
    """`aggregate_entries`' answer: one row per group, in ascending group number."""

    group: np.ndarray  # int64: the group numbers present
    score: np.ndarray  # float64: the aggregated score
    order: np.ndarray  # the entries' positions sorted by group, best first (to reduce other columns alike)
    starts: np.ndarray  # where each group begins in `order`

    @property
    def best(self) -> np.ndarray:
        """Position of each group's best entry (the first of equal scores, in the order given)."""
        best: np.ndarray = self.order[self.starts]
        return best


def aggregate_entries(group: np.ndarray, score: np.ndarray, method: str) -> GroupScores:
    """Aggregate (group, score) entries per group by the rule `method`; groups are non-negative ints."""
    rule = AGGREGATIONS[method]
    group = np.asarray(group, dtype=np.int64)
    order = _best_first(group, np.asarray(score))
    g = group[order]
    new_group = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_group)
    group_of = np.cumsum(new_group) - 1
    place = np.arange(len(g)) - starts[group_of]
    values = rule.evaluate(np.asarray(score, dtype=np.float64)[order], group_of, place, len(starts))
    return GroupScores(g[starts], values, order, starts)


def _best_first(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Entry positions by group, then score, best first; equal scores keep their given order (stable)."""
    if score.dtype == np.float32 and (not len(group) or 0 <= int(group.min()) <= int(group.max()) < 2**31):
        # one integer sort instead of a two-key one (half the time on a report's millions of entries): the
        # float's bits, made order-preserving, below the group number; exact, no rounding of the score
        bits = (score + np.float32(0)).view(np.uint32).astype(np.uint64)  # + 0 turns -0.0 into 0.0
        ascending = np.where(bits >> np.uint64(31), ~bits & np.uint64(0xFFFFFFFF), bits | np.uint64(0x80000000))
        key = (group.astype(np.uint64) << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - ascending)
        order: np.ndarray = np.argsort(key, kind="stable")
        return order
    return np.lexsort((-score.astype(np.float64), group))


def aggregate(groups: dict[str, list[float]], method: str) -> dict[str, float]:
    keys = [key for key, scores in groups.items() if scores]
    sizes = [len(groups[key]) for key in keys]
    scores = np.fromiter((s for key in keys for s in groups[key]), dtype=np.float64, count=sum(sizes))
    result = aggregate_entries(np.repeat(np.arange(len(keys)), sizes), scores, method)
    return {keys[g]: score for g, score in zip(result.group.tolist(), result.score.tolist(), strict=True)}


# ---- seeds → partners --------------------------------------------------
LEVELS = ("university", "researcher", "seed")  # what a partner can be: see partner_key


class SeedScore(NamedTuple):
    """One candidate seed of a query, with its scores (a named tuple: a match makes hundreds, and a frozen
    dataclass took three times as long to make)."""

    seed: Seed
    fused: float  # in [0, 1]
    dense: float  # raw cosine
    lexical: float  # raw BM25


@dataclass
class Ranked:
    """A partner's place in a ranking: its key, aggregated score, and whether it lies outside the need's region,
    with the 実績・体制 signal beside the score (its seeds in the index: `seed_count`, 0 where not counted)."""

    key: str
    score: float
    cross_region: bool
    promoted: bool = False
    seed_count: int = 0


def partner_key(seed: Seed, level: str) -> str | None:
    """The partner of `level` a seed counts for; None for a seed with no named researcher at that level."""
    if level == "university":
        return seed.university
    if level == "researcher":
        return seed.researcher.key if seed.researcher else None
    return str(seed.id)


@runtime_checkable
class CandidateColumns(Protocol):
    """A query's candidates as columns, best first (search.Candidates)."""

    ids: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray


class PartnerLookup(Protocol):
    """Each seed's partner as an integer code, by seed id (partner_codes.PartnerCodes)."""

    def codes(self, level: str, seed_ids: np.ndarray) -> np.ndarray | None: ...

    def key(self, level: str, code: int) -> str: ...


class PartnerGroups(Mapping[str, list[SeedScore]]):
    """A query's candidate seeds grouped by partner, held as columns: ranking reads each candidate's group
    number and fused score, with no Python object per candidate (at 10^5 seeds a match has some 1,700
    candidates in some 300 groups, and making a SeedScore of each was a fifth of the match). A group's
    SeedScore list, best first, is made when asked for: the partners shown, about ten.

    Groups come in order of first appearance; a group's entries keep the order given (best first)."""

    def __init__(self, keys: list[str], group: np.ndarray, ids: np.ndarray, records: Mapping[int, Seed],
                 fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray):
        """`ids`: each entry's seed id in `records`."""
        self.partner_keys, self.group, self.ids, self.records = keys, np.asarray(group, dtype=np.int64), ids, records
        self.fused, self.dense, self.lexical = fused, dense, lexical
        self._number = {key: g for g, key in enumerate(keys)}
        self._order = np.argsort(self.group, kind="stable")  # entries by group, each group in the given order
        self._starts = np.searchsorted(self.group[self._order], np.arange(len(keys) + 1))

    @classmethod
    def of_rows(cls, rows: Iterable[tuple[int, float, float, float]] | CandidateColumns, seeds: Mapping[int, Seed],
                level: str, lookup: PartnerLookup | None = None) -> PartnerGroups:
        """Candidate rows (seed id, fused, dense, lexical) or columns, best first; a seed with no partner at
        `level` (no named researcher) is left out. `lookup`: the partners' codes, where the engine keeps them;
        without it (or where it cannot answer) each seed's partner is looked up in `seeds`."""
        if not isinstance(rows, CandidateColumns):
            listed = list(rows)
            columns = [np.array([row[c] for row in listed], dtype=np.int64 if c == 0 else np.float64)
                       for c in range(4)]
        else:
            columns = [np.asarray(rows.ids, dtype=np.int64), rows.fused, rows.dense, rows.lexical]
        ids = columns[0]
        codes = None if lookup is None else lookup.codes(level, ids)
        if codes is None:
            number: dict[str, int] = {}
            codes = np.array([-1 if key is None else number.setdefault(key, len(number))
                              for key in (partner_key(seeds[i], level) for i in ids.tolist())], dtype=np.int64)
            keys = list(number)
        else:  # codes → group numbers in order of first appearance
            present, first, group = np.unique(codes, return_index=True, return_inverse=True)
            by_appearance = np.argsort(first[present >= 0], kind="stable")
            renumber = np.full(len(present), -1, dtype=np.int64)
            renumber[np.flatnonzero(present >= 0)[by_appearance]] = np.arange(len(by_appearance))
            keys = [lookup.key(level, c) for c in present[present >= 0][by_appearance].tolist()]  # type: ignore[union-attr]
            codes = renumber[group.reshape(-1)]
        kept = np.flatnonzero(codes >= 0)
        return cls(keys, codes[kept], ids[kept], seeds, *(column[kept] for column in columns[1:]))

    @classmethod
    def of_mapping(cls, groups: Mapping[str, Sequence[SeedScore]]) -> PartnerGroups:
        """The same from SeedScore lists (tests, and callers that built their own)."""
        keys = [key for key, hits in groups.items() if hits]
        entries = [hit for key in keys for hit in groups[key]]
        group = np.repeat(np.arange(len(keys), dtype=np.int64), [len(groups[key]) for key in keys])
        columns = (np.array([getattr(e, f) for e in entries], dtype=np.float64) for f in ("fused", "dense", "lexical"))
        return cls(keys, group, np.arange(len(entries)), dict(enumerate(e.seed for e in entries)), *columns)

    def first_seeds(self, groups: np.ndarray) -> list[Seed]:
        """The first seed (the best) of each of `groups` (group numbers)."""
        records = self.records
        return [records[i] for i in self.ids[self._order[self._starts[:-1]][groups]].tolist()]

    def __getitem__(self, key: str) -> list[SeedScore]:
        g = self._number[key]
        at = self._order[self._starts[g]:self._starts[g + 1]]
        records = self.records
        columns = (self.ids, self.fused, self.dense, self.lexical)
        ids, fused, dense, lexical = (column[at].tolist() for column in columns)
        return [SeedScore(records[i], f, d, x) for i, f, d, x in zip(ids, fused, dense, lexical, strict=True)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.partner_keys)

    def __len__(self) -> int:
        return len(self.partner_keys)


def group_by_partner(rows: Iterable[tuple[int, float, float, float]] | CandidateColumns,
                     seeds: Mapping[int, Seed], level: str, lookup: PartnerLookup | None = None) -> PartnerGroups:
    """Candidate rows (seed id, fused, dense, lexical), or columns, best first, grouped by partner; each group
    stays best first. `lookup`: as in `PartnerGroups.of_rows`."""
    return PartnerGroups.of_rows(rows, seeds, level, lookup)


def rank_partners(groups: Mapping[str, Sequence[SeedScore]], method: str, *,
                  region_of: Callable[[Seed], str | None], need_region: str | None,
                  seed_count: Callable[[Seed], int] | None = None) -> list[Ranked]:
    """Partners by the aggregation `method` over their seeds' fused scores, best first (ties by key).

    A partner crosses regions when its best seed lies in a known region other
    than the need's; with no need region, nothing crosses. `seed_count`: the
    partner's 実績・体制 from its best seed (`SeedCounts.count`), shown beside the
    score and never part of it.
    """
    table = groups if isinstance(groups, PartnerGroups) else PartnerGroups.of_mapping(groups)
    result = aggregate_entries(table.group, table.fused, method)
    present = result.group.tolist()
    scores = result.score.tolist()
    first = table.first_seeds(result.group)
    keys = [table.partner_keys[g] for g in present]
    ranked = []
    for i in sorted(range(len(keys)), key=lambda i: (-scores[i], keys[i])):
        seed = first[i]
        region = region_of(seed)
        ranked.append(Ranked(keys[i], scores[i], bool(need_region and region and region != need_region),
                             seed_count=seed_count(seed) if seed_count else 0))
    return ranked


# ---- the two sorts and the two signals (issue 17) -----------------------
# 総合 orders partners by the ranking that the cross-validated decision adopted (models/ranker/README.md,
# matcher/ranker/decision.py): the engine's aggregation rule (EngineSettings.aggregation). 内容重視 orders
# them by content fit alone: the fused score of the partner's best seed, however many seeds it has. Neither
# reads the seed count; 実績・体制 (SeedCounts) is shown beside the score, in words, and never folded into it.
# engine.match, the batch report (ReportOptions.sort) and the API all take the rule from `sort_rule`. Needs for a
# seed (engine.needs_for_seed) are single documents ranked by their fused score (`fuse`): every rule orders one
# document alike, and no seed count applies to a need.
SORTS: dict[str, str] = {"overall": "総合", "content": "内容重視"}
DEFAULT_SORT = "overall"
CONTENT_RULE = "max"


def sort_rule(sort: str, overall: str) -> str:
    """The aggregation rule that `sort` orders partners by, where 総合 is `overall` (the adopted rule)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {tuple(SORTS)}")
    return overall if sort == "overall" else CONTENT_RULE


class SeedCounts:
    """実績・体制 as the records carry it today: how many seeds each university and each researcher has in the
    index, matching the need or not. Kept seed by seed (`add`, `remove`), so a write costs no recount.

    Past collaborations and accepted introductions belong here too, once the records hold them."""

    def __init__(self, seeds: Iterable[Seed] = ()):
        self.university: Counter[str] = Counter()
        self.researcher: Counter[str] = Counter()
        for seed in seeds:
            self.add(seed)

    def add(self, seed: Seed) -> None:
        self.university[seed.university] += 1
        if seed.researcher:
            self.researcher[seed.researcher.key] += 1

    def remove(self, seed: Seed) -> None:
        for counter, key in ((self.university, seed.university),
                             (self.researcher, seed.researcher.key if seed.researcher else None)):
            if key is not None:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def count(self, seed: Seed, level: str) -> int:
        """The seeds of the partner `seed` counts for at `level`; a seed partner counts its university's (the
        body behind one seed), and a seed of no named researcher at the researcher level its university's."""
        if level == "researcher" and seed.researcher:
            return self.researcher[seed.researcher.key]
        return self.university[seed.university]

    def copy(self) -> SeedCounts:
        copied = SeedCounts()
        copied.university, copied.researcher = Counter(self.university), Counter(self.researcher)
        return copied
