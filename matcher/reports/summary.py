"""The report's summaries, computed from the per-need partners: flow matrix, silo measure, group stats, universities.

Pure functions over `NeedReport`s, so the tests can run them on score tables written by hand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..regions import REGION_ORDER, Prefecture
from .aggregate import Groups
from .assignment import constrained_assignment
from .candidates import SeedTable
from .concentration import concentration
from .model import (
    AssignmentReport,
    FlowMatrix,
    GroupStat,
    NeedReport,
    Report,
    ReportMeta,
    ReportOptions,
    SiloMeasure,
    UniversityReport,
)

UNKNOWN_REGION = "不明"
UNCLASSIFIED_AREA = "未分類"

University = tuple[str, str | None, str | None]  # name, prefecture code, region


def summarise(needs: list[NeedReport], universities: Sequence[University], options: ReportOptions,
              prefectures: Iterable[Prefecture], area_names: dict[str, str], *, groups: Groups | None = None,
              table: SeedTable | None = None, seeds_per_university: Mapping[str, int] | None = None) -> Report:
    """Every summary of the report; the constrained assignment too when `options` asks for it and `groups` are given,
    and the concentration of best-partner places when the seed counts are given (`table` gives them too).

    The meta data is left blank (compute_report fills it in).
    """
    if seeds_per_university is None and table is not None:
        seeds_per_university = table.seeds_per_university()
    regions = list(REGION_ORDER)
    assignment: AssignmentReport | None = None
    if options.assignment_cap is not None and groups is not None:
        assignment = constrained_assignment(needs, groups, table, options)
    meta = ReportMeta(scope="", mode=options.mode, aggregation="", candidates=0,
                      unmet_threshold=options.unmet_threshold, needs=len(needs), seeds=0,
                      universities=len(universities), generated_at="")
    return Report(
        meta, needs, flow_matrix(needs, regions, options.flow_partners), flow_matrix(needs, regions, 1),
        silo_measure(needs), stats_by_region(needs), stats_by_market_area(needs, area_names),
        stats_by_prefecture(needs, prefectures), university_reports(needs, universities, options.flow_partners),
        assignment, concentration(needs, seeds_per_university) if seeds_per_university is not None else [],
    )


def flow_matrix(needs: list[NeedReport], regions: list[str], k: int) -> FlowMatrix:
    """Need region × partner region: how many of the needs' best `k` partners, and their summed scores."""
    index = {r: i for i, r in enumerate(regions)}
    counts = [[0] * len(regions) for _ in regions]
    weighted = [[0.0] * len(regions) for _ in regions]
    for need in needs:
        if need.region is None:
            continue
        for p in need.flow_partners(k):
            if p.region is None:
                continue
            counts[index[need.region]][index[p.region]] += 1
            weighted[index[need.region]][index[p.region]] += p.score
    return FlowMatrix(regions, counts, weighted, k)


def silo_measure(needs: list[NeedReport]) -> SiloMeasure:
    """How often the best partner lies outside the need's region, and what crossing gains."""
    counted = [n for n in needs if n.crosses is not None]
    crossing = [n for n in counted if n.crosses]
    return SiloMeasure(
        needs=len(counted), crossing=len(crossing),
        share_crossing=len(crossing) / len(counted) if counted else 0.0,
        mean_gain_crossing=_mean(_gains(crossing)),
        mean_gain_all=_mean([n.gain or 0.0 for n in counted]),
        no_local_partner=sum(1 for n in needs if _lacks_local_partner(n)),
    )


def _lacks_local_partner(need: NeedReport) -> bool:
    """A need of a known region with partners, none of them in its region."""
    return need.region is not None and bool(need.partners) and need.best_in_region is None


# ---- needs grouped by region, market area, prefecture ----------------------------
def stats_by_region(needs: list[NeedReport]) -> list[GroupStat]:
    keys = [*REGION_ORDER, UNKNOWN_REGION]
    return group_stats(needs, lambda n: [n.region or UNKNOWN_REGION], keys, {r: r for r in keys})


def stats_by_market_area(needs: list[NeedReport], area_names: dict[str, str]) -> list[GroupStat]:
    labels = {**{code: f"{code} {name}" for code, name in area_names.items()}, UNCLASSIFIED_AREA: UNCLASSIFIED_AREA}
    return group_stats(needs, lambda n: list(n.market_areas) or [UNCLASSIFIED_AREA],
                       [*sorted(area_names), UNCLASSIFIED_AREA], labels)


def stats_by_prefecture(needs: list[NeedReport], prefectures: Iterable[Prefecture]) -> list[GroupStat]:
    """All prefectures, those without needs too (the map shows them)."""
    ordered = sorted(prefectures, key=lambda p: p.code)
    return group_stats(needs, lambda n: [n.prefecture_code] if n.prefecture_code else [], [p.code for p in ordered],
                       {p.code: p.name for p in ordered}, keep_empty=True)


def group_stats(needs: list[NeedReport], keys_of: Callable[[NeedReport], list[str]], order: list[str],
                labels: dict[str, str], keep_empty: bool = False) -> list[GroupStat]:
    """One row per key, in `order` and then any other key found; a need counts in each of its keys."""
    members: dict[str, list[NeedReport]] = defaultdict(list)
    for need in needs:
        for key in keys_of(need):
            members[key].append(need)
    stats = []
    for key in order + sorted(set(members) - set(order)):
        group = members.get(key, [])
        if group or keep_empty:
            stats.append(_group_stat(key, labels.get(key, key), group))
    return stats


def _group_stat(key: str, label: str, group: list[NeedReport]) -> GroupStat:
    return GroupStat(
        key=key, label=label, needs=len(group), crossing=sum(1 for n in group if n.crosses),
        unmet=sum(1 for n in group if n.unmet), mean_gain=_mean(_gains(group)),
        mean_best_similarity=_mean([n.best_similarity for n in group]),
    )


# ---- universities ---------------------------------------------------------------------
def university_reports(needs: list[NeedReport], universities: Sequence[University], k: int) -> list[UniversityReport]:
    """The universities among the needs' best `k` partners, those serving the most regions first."""
    info = {name: (pref, region) for name, pref, region in universities}
    served: dict[str, set[int]] = defaultdict(set)
    regions: dict[str, set[str]] = defaultdict(set)
    cross: dict[str, set[int]] = defaultdict(set)
    best: Counter[str] = Counter(n.best.university for n in needs if n.best is not None)
    for need in needs:
        for p in need.flow_partners(k):
            served[p.university].add(need.need_id)
            if need.region is not None:
                regions[p.university].add(need.region)
            if p.cross_region:
                cross[p.university].add(need.need_id)
    order = {r: i for i, r in enumerate(REGION_ORDER)}
    rows = []
    for name in served:
        pref, region = info.get(name, (None, None))
        rows.append(UniversityReport(name, pref, region, len(served[name]), best[name],
                                     sorted(regions[name], key=lambda r: order.get(r, 99)), len(cross[name])))
    rows.sort(key=lambda u: (-u.region_count, -u.needs_served, u.university))
    return rows


def _gains(needs: list[NeedReport]) -> list[float]:
    return [n.gain for n in needs if n.gain is not None]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
