"""From candidate seeds to partners: the vectorised aggregation per (need, university), and what each need keeps.

`aggregate_candidates` applies the engine's aggregation rule (`rank.aggregate_entries`,
the implementation `engine.match` uses) to every (need, university) group at once;
`condense` keeps each need's best `KEEP_PER_NEED` partners, its best in-region partner
(from the separately aggregated in-region candidates) and its best seed's cosine, so
memory stays bounded chunk by chunk; `need_reports` turns that into `NeedReport`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..rank import AGGREGATIONS, aggregate_entries
from ..records import Need
from ..regions import PrefectureTable
from .candidates import SeedTable
from .model import NeedReport, PartnerScore, ReportOptions

# partners kept per need after aggregation: enough for the lists, the flow and the constrained assignment
KEEP_PER_NEED = 50


@dataclass
class Groups:
    """One entry per (need, university), sorted by need, then score (desc), then university name."""

    need_idx: np.ndarray
    univ: np.ndarray
    score: np.ndarray
    similarity: np.ndarray  # best seed's cosine
    best_seed_row: np.ndarray
    starts: np.ndarray  # first entry of each need present, then len (sentinel)

    @classmethod
    def empty(cls) -> Groups:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return cls(empty_i, empty_i, empty_f, empty_f, empty_i, np.zeros(1, np.int64))

    @classmethod
    def sorted_by_need(cls, need_idx: np.ndarray, univ: np.ndarray, score: np.ndarray, similarity: np.ndarray,
                       best_seed_row: np.ndarray) -> Groups:
        """Entries already in need order; `starts` computed from them."""
        return cls(need_idx, univ, score, similarity, best_seed_row, _starts(need_idx))

    def spans(self) -> dict[int, tuple[int, int]]:
        """Need index → (first, end) of its entries."""
        starts, need = self.starts.tolist(), self.need_idx.tolist()
        return {need[a]: (a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)}


def _starts(need_idx: np.ndarray) -> np.ndarray:
    if not len(need_idx):
        return np.zeros(1, np.int64)
    return np.append(np.flatnonzero(np.r_[True, need_idx[1:] != need_idx[:-1]]), len(need_idx))


# ---- aggregation -------------------------------------------------------------
def aggregate_candidates(need_idx: np.ndarray, seed_row: np.ndarray, score: np.ndarray, cosine: np.ndarray,
                         univ_of_row: np.ndarray, aggregation: str) -> Groups:
    """Aggregate seed scores per (need, university) with the engine's rule: `rank.aggregate_entries`, the one
    implementation `engine.match` runs too, over every group of the chunk at once."""
    if aggregation not in AGGREGATIONS:
        raise InvalidInputError(f"集約方法「{aggregation}」は使えません。")
    if len(need_idx) == 0:
        return Groups.empty()
    base = int(need_idx.min())
    n_univ = int(univ_of_row.max()) + 1
    key = (need_idx.astype(np.int64) - base) * n_univ + univ_of_row[seed_row].astype(np.int64)
    result = aggregate_entries(key, score, aggregation)
    agg = result.score
    similarity = np.maximum.reduceat(np.asarray(cosine, dtype=np.float64)[result.order], result.starts)
    g_need, g_univ = result.group // n_univ + base, result.group % n_univ
    # order: need, score desc, university index (= name order, the engine's tie-break)
    order = np.lexsort((g_univ, -agg, g_need))
    return Groups.sorted_by_need(g_need[order], g_univ[order], agg[order], similarity[order],
                                 np.asarray(seed_row)[result.best][order])


# ---- what each need keeps ------------------------------------------------------
@dataclass
class Condensed:
    """Per need: its best `keep` partners (Groups, truncated), its best in-region partner and best cosine."""

    groups: Groups
    local_univ: np.ndarray  # int64 per need, -1 none
    local_score: np.ndarray
    local_sim: np.ndarray
    local_row: np.ndarray
    best_sim: np.ndarray  # float64 per need, 0 without candidates

    @classmethod
    def nothing(cls, n: int) -> Condensed:
        """n needs without any candidate."""
        return cls(Groups.empty(), np.full(n, -1, dtype=np.int64), np.zeros(n), np.zeros(n),
                   np.zeros(n, dtype=np.int64), np.zeros(n))

    @classmethod
    def concat(cls, parts: Sequence[Condensed], n: int) -> Condensed:
        if not parts:
            return cls.nothing(n)
        groups = Groups.sorted_by_need(*(np.concatenate([getattr(p.groups, f) for p in parts])
                                         for f in ("need_idx", "univ", "score", "similarity", "best_seed_row")))
        return cls(groups, *(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("local_univ", "local_score", "local_sim", "local_row", "best_sim")))


def condense(groups: Groups, local: Groups, start: int, stop: int, keep: int) -> Condensed:
    """Keep each need's best `keep` partners (nationwide `groups`), its best in-region partner (the first of
    `local`, the groups of its in-region candidates, as `engine.match(scope="in-region")` ranks them) and
    its best seed's cosine."""
    kept = Condensed.nothing(stop - start)
    if len(local.need_idx):
        first = local.starts[:-1]
        at = local.need_idx[first] - start
        kept.local_univ[at] = local.univ[first]
        kept.local_score[at] = local.score[first]
        kept.local_sim[at] = local.similarity[first]
        kept.local_row[at] = local.best_seed_row[first]
    g = groups
    if not len(g.need_idx):
        return kept
    firsts = g.starts[:-1]
    kept.best_sim[g.need_idx[firsts] - start] = np.maximum.reduceat(g.similarity, firsts)
    group_of = np.repeat(np.arange(len(firsts)), np.diff(g.starts))
    mask = np.arange(len(g.need_idx)) - firsts[group_of] < keep
    kept.groups = Groups.sorted_by_need(g.need_idx[mask], g.univ[mask], g.score[mask], g.similarity[mask],
                                        g.best_seed_row[mask])
    return kept


# ---- to NeedReports ------------------------------------------------------------
@dataclass
class _PartnerColumns:
    """Partner columns as Python lists (fast to read one entry at a time), named through the seed table."""

    table: SeedTable
    seed_counts: list[int]  # per university index: 実績・体制
    seed_ids: list[int]
    univ: list[int]
    score: list[float]
    similarity: list[float]
    seed_row: list[int]

    @classmethod
    def of(cls, table: SeedTable, univ: np.ndarray, score: np.ndarray, similarity: np.ndarray,
           seed_row: np.ndarray) -> _PartnerColumns:
        counts = np.bincount(table.univ_of_row, minlength=len(table.universities)).tolist()
        return cls(table, counts, table.seed_ids.tolist(), univ.tolist(), score.tolist(), similarity.tolist(),
                   seed_row.tolist())

    def partner(self, j: int, need_region: str | None) -> PartnerScore:
        u = self.univ[j]
        u_region = self.table.univ_region[u]
        cross = None if need_region is None or u_region is None else u_region != need_region
        return PartnerScore(self.table.universities[u], self.table.univ_pref[u], u_region, float(self.score[j]),
                            float(self.similarity[j]), self.seed_ids[self.seed_row[j]], cross,
                            seed_count=self.seed_counts[u])


def need_reports(prefs: PrefectureTable, table: SeedTable, needs: Sequence[Need], need_regions: Sequence[str | None],
                 condensed: Condensed, options: ReportOptions) -> list[NeedReport]:
    g, c = condensed.groups, condensed
    ranked = _PartnerColumns.of(table, g.univ, g.score, g.similarity, g.best_seed_row)
    local = _PartnerColumns.of(table, c.local_univ, c.local_score, c.local_sim, c.local_row)
    spans = g.spans()
    listed = max(options.top_partners, options.flow_partners)
    best_sims = c.best_sim.tolist()
    out = []
    for i, need in enumerate(needs):
        region = need_regions[i]
        a, b = spans.get(i, (0, 0))
        partners = [ranked.partner(j, region) for j in range(a, min(b, a + listed))]
        best_local = local.partner(i, region) if region is not None and local.univ[i] >= 0 else None
        pref = prefs.get(need.prefecture_code) if need.prefecture_code else None
        out.append(NeedReport(
            need_id=need.id, title=need.title, prefecture_code=pref.code if pref else None,
            prefecture=pref.name if pref else None, region=region, market_areas=tuple(need.market_areas),
            poster=need.poster_name, partners=partners[:options.top_partners], best_in_region=best_local,
            gain=_gain(partners, best_local) if region is not None else None,
            best_similarity=best_sims[i], unmet=best_sims[i] < options.unmet_threshold,
            further_partners=partners[options.top_partners:],
        ))
    return out


def _gain(partners: list[PartnerScore], best_local: PartnerScore | None) -> float | None:
    """How much the best partner beats the best in-region one (which counts 0 when there is none)."""
    if not partners:
        return None
    return partners[0].score - (best_local.score if best_local else 0.0)
