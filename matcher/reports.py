"""Batch cross-region matching reports for coordinators: computation only (no rendering).

    report = compute_report(engine, ReportScope(regions=("中部",)), ReportOptions())

Every need in the scope is matched against every seed nationwide, in batches:

1. The needs are encoded as queries (`encoder.encode_queries`, in chunks), or the
   caller passes vectors (benchmarks, cached vectors).
2. **Nationwide**: one FAISS search of the whole need matrix (chunked, so that
   progress can be reported) for the `candidates` nearest seeds of each need.
3. **In-region**: for each of the 8 regional blocks, one FAISS search of the
   needs of that block over a flat index of that block's seeds only, so that the
   best in-region partner is found even when no in-region seed is among the
   nationwide candidates (the engine's `match` does the same with a filter).
4. The two candidate sets of a need are united and scored like the engine's
   dense half: the cosine is min–max normalised with the bounds of the need's
   *nationwide* candidates (so nationwide and in-region scores compare and
   subtract), then grouped per university and aggregated with the engine's
   rule (`EngineSettings.aggregation`, "rms10" by default; vectorised here and
   checked against `rank.AGGREGATIONS` in the tests).

**BM25 is not in the default batch path** (`mode="dense"`). The engine's BM25 is
a per-query search with its own normalisation; at 10,000 needs it would cost
about as much as 10,000 `engine.match` calls and defeat batching. So report
scores are the dense half of the engine's fused score, and a report's ranking
can differ from `engine.match` where word overlap decides. `mode="hybrid"`
gives the engine's hybrid scores (one `hybrid_search` per need, with the
batch-encoded vector) for scopes small enough to afford it.

The absolute measure for *unmet* needs is the raw cosine (`similarity`) of the
best seed of the best partner, not the aggregated score: the aggregated score is
normalised per need (the best seed always scores 1), so it cannot say whether
anyone in the country fits. A need is unmet when the best seed's cosine is
below `ReportOptions.unmet_threshold`.

The period filter uses `Need.extra["created_at"]` (a datetime) where the caller
supplies it (the API does, from the database); corpus needs carry no date, and
a period filter excludes needs without one.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np

from .errors import InvalidInputError
from .rank import AGGREGATIONS
from .records import Need
from .regions import REGION_ORDER

UNKNOWN_REGION = "不明"
UNCLASSIFIED_AREA = "未分類"
MODES = ("dense", "hybrid")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


# ---- inputs ------------------------------------------------------------
@dataclass(frozen=True)
class ReportScope:
    """Which needs the report covers. Empty fields do not restrict; given fields must all hold."""

    regions: tuple[str, ...] = ()
    prefectures: tuple[str, ...] = ()  # codes or names
    market_areas: tuple[str, ...] = ()  # a need qualifies if it has any of them
    since: datetime | None = None  # Need.extra["created_at"] >= since
    until: datetime | None = None  # Need.extra["created_at"] < until
    need_ids: tuple[int, ...] = ()
    include_confidential: bool = True  # reports go to coordinators, who may read confidential needs

    def describe(self) -> str:
        parts = []
        if self.regions:
            parts.append("地域: " + "・".join(self.regions))
        if self.prefectures:
            parts.append("都道府県: " + "・".join(self.prefectures))
        if self.market_areas:
            parts.append("市場領域: " + "・".join(self.market_areas))
        if self.since or self.until:
            parts.append(f"期間: {self.since.date() if self.since else ''}〜{self.until.date() if self.until else ''}")
        if self.need_ids:
            parts.append(f"ニーズ {len(self.need_ids)} 件を指定")
        return "、".join(parts) or "全国のすべてのニーズ"


@dataclass(frozen=True)
class ReportOptions:
    top_partners: int = 5  # partners listed per need
    flow_partners: int = 3  # partners of each need counted in the flow matrix
    candidates: int | None = None  # seeds per need per search; None = the engine's setting
    unmet_threshold: float = 0.85  # best seed raw cosine below this = unmet (demo corpus: all needs >= 0.86; off-topic ~0.79-0.82)
    assignment_cap: int | None = None  # needs per university in the constrained assignment; None = skip
    assignment_per_need: int = 1  # partners given to each need in the constrained assignment
    mode: str = "dense"  # "dense" (batched) or "hybrid" (engine's fused score, one search per need)
    chunk: int = 1024  # needs per FAISS search call


# ---- outputs -----------------------------------------------------------
@dataclass
class PartnerScore:
    university: str
    prefecture_code: str | None
    region: str | None
    score: float  # aggregated, in [0, 1]
    similarity: float  # best seed's raw cosine
    best_seed_id: int
    cross_region: bool | None


@dataclass
class NeedReport:
    need_id: int
    title: str
    prefecture_code: str | None
    prefecture: str | None
    region: str | None
    market_areas: tuple[str, ...]
    poster: str | None
    partners: list[PartnerScore]  # best first
    best_in_region: PartnerScore | None
    gain: float | None  # best partner's score − best in-region partner's (0 when none in region); None without a region
    best_similarity: float
    unmet: bool

    @property
    def best(self) -> PartnerScore | None:
        return self.partners[0] if self.partners else None

    @property
    def crosses(self) -> bool | None:
        """Is the best partner outside the need's region? None when either region is unknown."""
        b = self.best
        if b is None or self.region is None or b.cross_region is None:
            return None
        return b.cross_region


@dataclass
class FlowMatrix:
    regions: list[str]  # row and column labels; rows = need regions, columns = partner regions
    counts: list[list[int]]
    weighted: list[list[float]]  # sum of partner scores
    partners_per_need: int

    def count(self, need_region: str, partner_region: str) -> int:
        return self.counts[self.regions.index(need_region)][self.regions.index(partner_region)]

    def weight(self, need_region: str, partner_region: str) -> float:
        return self.weighted[self.regions.index(need_region)][self.regions.index(partner_region)]


@dataclass
class SiloMeasure:
    needs: int  # needs with a known region and a partner
    crossing: int  # of them, whose best partner is outside the region
    share_crossing: float
    mean_gain_crossing: float  # mean gain over the crossing needs
    mean_gain_all: float  # mean gain over all counted needs (0 for those that stay)
    no_local_partner: int  # needs with no partner at all in their region


@dataclass
class GroupStat:
    key: str  # region, market area code or prefecture code
    label: str
    needs: int
    crossing: int
    unmet: int
    mean_gain: float
    mean_best_similarity: float

    @property
    def share_crossing(self) -> float:
        return self.crossing / self.needs if self.needs else 0.0

    @property
    def share_unmet(self) -> float:
        return self.unmet / self.needs if self.needs else 0.0


@dataclass
class UniversityReport:
    university: str
    prefecture_code: str | None
    region: str | None
    needs_served: int  # needs having it among their flow partners
    best_for: int  # needs having it as their best partner
    regions_served: list[str]  # regions of the needs it serves (flow partners), north to south
    cross_region_needs: int  # served needs from another region

    @property
    def region_count(self) -> int:
        return len(self.regions_served)


@dataclass
class AssignmentReport:
    cap: int
    per_need: int
    assigned_needs: int  # needs that got at least one partner
    coverage: float  # share of needs with `per_need` partners
    coverage_met: float  # share of needs whose assigned best seed reaches the unmet threshold
    coverage_met_unconstrained: float
    mean_score: float  # mean score of the assigned partners
    mean_score_unconstrained: float  # the same number of unconstrained partners
    changed_needs: int  # needs whose partners differ from the unconstrained ones
    max_load_before: int
    max_load_after: int
    universities_used_before: int
    universities_used_after: int
    assignments: dict[int, list[str]]  # need id → universities


@dataclass
class ReportMeta:
    scope: str
    mode: str
    aggregation: str
    candidates: int
    unmet_threshold: float
    needs: int
    seeds: int
    universities: int
    generated_at: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    meta: ReportMeta
    needs: list[NeedReport]
    flow: FlowMatrix
    flow_best: FlowMatrix  # best partner only
    silo: SiloMeasure
    by_region: list[GroupStat]
    by_market_area: list[GroupStat]
    by_prefecture: list[GroupStat]
    universities: list[UniversityReport]
    assignment: AssignmentReport | None

    def to_dict(self) -> dict:
        data = asdict(self)
        for group in ("by_region", "by_market_area", "by_prefecture"):
            for row, stat in zip(data[group], getattr(self, group)):
                row["share_crossing"] = round(stat.share_crossing, 4)
                row["share_unmet"] = round(stat.share_unmet, 4)
        for row, uni in zip(data["universities"], self.universities):
            row["region_count"] = uni.region_count
        return _rounded(data)


# ---- scope ---------------------------------------------------------------
def select_needs(engine, scope: ReportScope) -> list[Need]:
    """The engine's needs in `scope`, by id."""
    prefs = engine.prefectures
    for region in scope.regions:
        if region not in REGION_ORDER:
            raise InvalidInputError(f"地域ブロック「{region}」が見つかりません。{'・'.join(REGION_ORDER)}のいずれかを指定してください。")
    pref_codes = {prefs.get(p).code for p in scope.prefectures}
    wanted_ids = set(scope.need_ids)
    chosen = []
    for need in sorted(engine.needs.values(), key=lambda n: n.id):
        if wanted_ids and need.id not in wanted_ids:
            continue
        if not scope.include_confidential and need.visibility == "confidential":
            continue
        pref = prefs.get(need.prefecture_code) if need.prefecture_code else None
        if scope.regions and (pref is None or pref.region not in scope.regions):
            continue
        if pref_codes and (pref is None or pref.code not in pref_codes):
            continue
        if scope.market_areas and not set(need.market_areas) & set(scope.market_areas):
            continue
        if scope.since or scope.until:
            created = need.extra.get("created_at") if need.extra else None
            if created is None:
                continue
            if scope.since and created < scope.since or scope.until and created >= scope.until:
                continue
        chosen.append(need)
    return chosen


# ---- the computation -------------------------------------------------------
def compute_report(engine, scope: ReportScope = ReportScope(), options: ReportOptions = ReportOptions(), *,
                   need_vectors: np.ndarray | None = None, needs: Sequence[Need] | None = None,
                   progress: Progress | None = None, lock=None) -> Report:
    """The whole report for the needs in `scope` (or the given `needs`) against all seeds.

    `need_vectors` (rows in the order of the needs) skips encoding. `lock`, if
    given, is held while the engine's indexes are read (the API's service lock);
    encoding happens outside it.
    """
    if options.mode not in MODES:
        raise InvalidInputError("mode は dense・hybrid のいずれかです。")
    if options.top_partners < 1 or options.flow_partners < 1:
        raise InvalidInputError("連携先の件数は1以上で指定してください。")
    progress = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    needs = list(needs) if needs is not None else select_needs(engine, scope)
    candidates = options.candidates or engine.settings.candidates

    # 1. need vectors (outside the lock: encoding is the slow part and touches no index)
    t = time.perf_counter()
    if need_vectors is None:
        need_vectors = _encode(engine, needs, progress)
    need_vectors = np.ascontiguousarray(need_vectors, dtype=np.float32)
    if len(need_vectors) != len(needs):
        raise ValueError("need_vectors must have one row per need")
    timings["encode_s"] = time.perf_counter() - t

    with (lock if lock is not None else _nolock()):
        table = _SeedTable.build(engine)
        t = time.perf_counter()
        need_regions = [_region_of_need(engine, n) for n in needs]
        if options.mode == "dense":
            cand = _dense_candidates(engine, table, need_vectors, need_regions, candidates, options.chunk, progress)
        else:
            cand = _hybrid_candidates(engine, table, needs, need_vectors, need_regions, candidates, progress)
        timings["search_s"] = time.perf_counter() - t

    t = time.perf_counter()
    groups = aggregate_candidates(cand.need_idx, cand.seed_row, cand.score, cand.cosine, table.univ_of_row,
                                  engine.settings.aggregation)
    timings["aggregate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("集計", 0, 1)
    need_reports = _need_reports(engine, table, needs, need_regions, groups, options)
    report = summarise(need_reports, table_universities(engine, table), options, engine.prefectures,
                       market_area_names(), groups=groups, table=table)
    timings["summarise_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    progress("集計", 1, 1)
    report.meta = ReportMeta(
        scope=scope.describe(), mode=options.mode, aggregation=engine.settings.aggregation, candidates=candidates,
        unmet_threshold=options.unmet_threshold, needs=len(needs), seeds=len(table.seed_ids),
        universities=len(table.universities), generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        timings={k: round(v, 3) for k, v in timings.items()},
        notes=_notes(options),
    )
    return report


def _notes(options: ReportOptions) -> list[str]:
    notes = ["スコアは各ニーズの全国候補の内容の近さ（コサイン）を0〜1に正規化し、大学ごとに集約したものです。"]
    if options.mode == "dense":
        notes.append("一括処理のため語の一致（BM25）は含めていません。個別の照合（match）とは順位が異なることがあります。")
    else:
        notes.append("スコアは個別の照合（match）と同じ、内容の近さと語の一致（BM25）の加重和です。")
    notes.append(f"「未充足」は最良シーズの内容の近さ（コサイン）が {options.unmet_threshold:.2f} 未満のニーズです。")
    return notes


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _encode(engine, needs: Sequence[Need], progress: Progress, batch: int = 64) -> np.ndarray:
    out = np.empty((len(needs), engine.encoder.dim), dtype=np.float32)
    progress("ニーズを埋め込み", 0, len(needs))
    for start in range(0, len(needs), batch):
        chunk = needs[start:start + batch]
        out[start:start + len(chunk)] = engine.encoder.encode_queries([n.text for n in chunk])
        progress("ニーズを埋め込み", start + len(chunk), len(needs))
    return out


def _region_of_need(engine, need: Need) -> str | None:
    return engine.prefectures.get(need.prefecture_code).region if need.prefecture_code else None


@dataclass
class _SeedTable:
    """Seeds as arrays: row → id, university index (universities sorted by name), region."""

    seed_ids: np.ndarray  # int64, row order
    row_of_id: dict[int, int]
    univ_of_row: np.ndarray  # int32
    universities: list[str]  # sorted by name: index order is the engine's tie-break order
    univ_pref: list[str | None]
    univ_region: list[str | None]
    seed_region_of_row: list[str | None]

    @classmethod
    def build(cls, engine) -> "_SeedTable":
        ids = np.asarray(sorted(engine.seeds), dtype=np.int64)
        names = sorted({s.university for s in engine.seeds.values()})
        index = {n: i for i, n in enumerate(names)}
        univ_of_row = np.fromiter((index[engine.seeds[i].university] for i in ids.tolist()), dtype=np.int32, count=len(ids))
        prefs = engine.prefectures
        univ_pref, univ_region = [], []
        for name in names:
            u = engine.universities.get(name)
            code = u.prefecture_code if u else None
            univ_pref.append(code)
            univ_region.append(prefs.get(code).region if code else None)
        seed_region = [engine._region_of_seed(engine.seeds[i]) for i in ids.tolist()]
        return cls(ids, {int(i): r for r, i in enumerate(ids.tolist())}, univ_of_row, names, univ_pref, univ_region,
                   seed_region)


def table_universities(engine, table: _SeedTable) -> list[tuple[str, str | None, str | None]]:
    return list(zip(table.universities, table.univ_pref, table.univ_region))


@dataclass
class _Candidates:
    """Flat arrays, one entry per (need, seed) candidate."""

    need_idx: np.ndarray  # int64
    seed_row: np.ndarray  # int64
    score: np.ndarray  # float32, normalised (dense) or fused (hybrid)
    cosine: np.ndarray  # float32


def _dense_candidates(engine, table: _SeedTable, vectors: np.ndarray, need_regions: list[str | None], k: int,
                      chunk: int, progress: Progress) -> _Candidates:
    import faiss

    n = len(vectors)
    collection = engine.seed_index
    if n == 0 or len(collection) == 0:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
        return _Candidates(empty_i, empty_i, empty_f, empty_f)
    k = max(1, min(k, len(collection)))
    sims = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    total_steps = n * 2
    progress("全国のシーズを検索", 0, n)
    for start in range(0, n, chunk):
        s, i = collection.dense.search(vectors[start:start + chunk], k)
        sims[start:start + chunk], ids[start:start + chunk] = s, i
        progress("全国のシーズを検索", min(start + chunk, n), n)
    # bounds of each need's nationwide candidates fix its normalisation
    valid = ids >= 0
    low = np.where(valid, sims, np.inf).min(axis=1)
    high = np.where(valid, sims, -np.inf).max(axis=1)

    parts_need = [np.repeat(np.arange(n, dtype=np.int64), k)[valid.ravel()]]
    parts_id = [ids[valid]]
    parts_sim = [sims[valid]]

    # in-region: one flat index per region, searched by that region's needs
    by_region: dict[str, list[int]] = defaultdict(list)
    for i, region in enumerate(need_regions):
        if region is not None:
            by_region[region].append(i)
    seed_rows_by_region: dict[str, list[int]] = defaultdict(list)
    for row, region in enumerate(table.seed_region_of_row):
        if region is not None:
            seed_rows_by_region[region].append(row)
    done = 0
    progress("地域内のシーズを検索", 0, max(1, sum(len(v) for v in by_region.values())))
    for region in REGION_ORDER:
        members = by_region.get(region)
        rows = seed_rows_by_region.get(region)
        if not members:
            continue
        if rows:
            region_ids = table.seed_ids[rows]
            flat = faiss.IndexFlatIP(collection.dim)
            flat.add(np.ascontiguousarray(collection.vectors_of(region_ids), dtype=np.float32))
            kr = min(k, len(rows))
            member_arr = np.asarray(members, dtype=np.int64)
            for start in range(0, len(member_arr), chunk):
                part = member_arr[start:start + chunk]
                s, local = flat.search(vectors[part], kr)
                ok = local >= 0
                parts_need.append(np.repeat(part, kr)[ok.ravel()])
                parts_id.append(region_ids[local[ok]])
                parts_sim.append(s[ok])
                done += len(part)
                progress("地域内のシーズを検索", done, total_steps // 2)
        else:
            done += len(members)
            progress("地域内のシーズを検索", done, total_steps // 2)

    need_idx = np.concatenate(parts_need)
    seed_ids = np.concatenate(parts_id)
    cosine = np.concatenate(parts_sim).astype(np.float32)
    # the union: a seed found by both searches counts once
    key = need_idx * (int(table.seed_ids.max()) + 1 if len(table.seed_ids) else 1) + _rows_of(table, seed_ids)
    _, first = np.unique(key, return_index=True)
    need_idx, seed_ids, cosine = need_idx[first], seed_ids[first], cosine[first]
    seed_row = _rows_of(table, seed_ids)
    lo, hi = low[need_idx], high[need_idx]
    span = hi - lo
    score = np.where(span > 1e-12, np.clip((cosine - lo) / np.where(span > 1e-12, span, 1.0), 0.0, 1.0),
                     (cosine > 0).astype(np.float32)).astype(np.float32)
    return _Candidates(need_idx, seed_row, score, cosine)


def _rows_of(table: _SeedTable, seed_ids: np.ndarray) -> np.ndarray:
    # seed ids are sorted in the table: searchsorted maps ids to rows
    return np.searchsorted(table.seed_ids, seed_ids).astype(np.int64)


def _hybrid_candidates(engine, table: _SeedTable, needs: Sequence[Need], vectors: np.ndarray,
                       need_regions: list[str | None], k: int, progress: Progress) -> _Candidates:
    from .search import hybrid_search

    settings = engine.settings
    parts_need, parts_row, parts_score, parts_cos = [], [], [], []
    region_ids: dict[str, np.ndarray] = {}
    for region in REGION_ORDER:
        rows = [r for r, reg in enumerate(table.seed_region_of_row) if reg == region]
        region_ids[region] = table.seed_ids[rows] if rows else np.empty(0, np.int64)
    progress("シーズを検索（語の一致を含む）", 0, len(needs))
    for i, need in enumerate(needs):
        terms = engine.tokenizer.terms(need.text)
        found = hybrid_search(engine.seed_index, vectors[i], terms, candidates=k, dense_weight=settings.dense_weight)
        ids, fused, cos = [found.ids], [found.fused], [found.dense]
        region = need_regions[i]
        if region is not None:
            local = hybrid_search(engine.seed_index, vectors[i], terms, candidates=k, allowed=region_ids[region],
                                  bounds=(found.dense_bounds, found.lexical_bounds), dense_weight=settings.dense_weight)
            ids.append(local.ids)
            fused.append(local.fused)
            cos.append(local.dense)
        all_ids = np.concatenate(ids)
        _, first = np.unique(all_ids, return_index=True)
        parts_need.append(np.full(len(first), i, dtype=np.int64))
        parts_row.append(_rows_of(table, all_ids[first]))
        parts_score.append(np.concatenate(fused)[first].astype(np.float32))
        parts_cos.append(np.concatenate(cos)[first].astype(np.float32))
        progress("シーズを検索（語の一致を含む）", i + 1, len(needs))
    if not parts_need:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
        return _Candidates(empty_i, empty_i, empty_f, empty_f)
    return _Candidates(np.concatenate(parts_need), np.concatenate(parts_row), np.concatenate(parts_score),
                       np.concatenate(parts_cos))


# ---- aggregation per (need, university) ------------------------------------
@dataclass
class Groups:
    """One entry per (need, university), sorted by need, then score (desc), then university name."""

    need_idx: np.ndarray
    univ: np.ndarray
    score: np.ndarray
    similarity: np.ndarray  # best seed's cosine
    best_seed_row: np.ndarray
    starts: np.ndarray  # first entry of each need (len = number of needs with candidates + 1 sentinel)


def _rule_shape(name: str) -> tuple[str, int] | None:
    """Vectorisable rules: ("rms"|"top", k), ("max", 1), ("sum", 0); None = use the Python rule."""
    if name == "max":
        return ("max", 1)
    if name == "sum":
        return ("sum", 0)
    for kind in ("rms", "top"):
        if name.startswith(kind) and name[len(kind):].isdigit():
            return (kind, int(name[len(kind):]))
    return None


def aggregate_candidates(need_idx: np.ndarray, seed_row: np.ndarray, score: np.ndarray, cosine: np.ndarray,
                         univ_of_row: np.ndarray, aggregation: str) -> Groups:
    """Aggregate seed scores per (need, university) with the engine's rule, vectorised.

    Equal to `rank.AGGREGATIONS[aggregation](sorted scores)` per group (tested).
    """
    if aggregation not in AGGREGATIONS:
        raise InvalidInputError(f"集約方法「{aggregation}」は使えません。")
    univ = univ_of_row[seed_row].astype(np.int64)
    n_univ = int(univ_of_row.max()) + 1 if len(univ_of_row) else 1
    key = need_idx.astype(np.int64) * n_univ + univ
    order = np.lexsort((seed_row, -score, key))  # by group, best seed first (ties by seed row = seed id order)
    key_s, score_s, cos_s, row_s = key[order], score[order].astype(np.float64), cosine[order], seed_row[order]
    if len(key_s) == 0:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return Groups(empty_i, empty_i, empty_f, empty_f, empty_i, np.zeros(1, np.int64))
    boundary = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    group_of = np.cumsum(np.r_[True, key_s[1:] != key_s[:-1]]) - 1
    rank_in_group = np.arange(len(key_s)) - boundary[group_of]
    shape = _rule_shape(aggregation)
    if shape is None:
        rule = AGGREGATIONS[aggregation]
        ends = np.r_[boundary[1:], len(key_s)]
        agg = np.array([rule(score_s[a:b].tolist()) for a, b in zip(boundary, ends)], dtype=np.float64)
    else:
        kind, k = shape
        if kind == "max":
            agg = score_s[boundary]
        elif kind == "sum":
            agg = np.bincount(group_of, weights=score_s)
        else:
            keep = rank_in_group < k
            values = score_s * score_s if kind == "rms" else score_s
            sums = np.bincount(group_of[keep], weights=values[keep], minlength=len(boundary))
            agg = np.sqrt(sums / k) if kind == "rms" else sums / k
    similarity = np.maximum.reduceat(cos_s.astype(np.float64), boundary)
    best_row = row_s[boundary]
    group_key = key_s[boundary]
    g_need = group_key // n_univ
    g_univ = group_key % n_univ
    # order: need, score desc, university index (= name order, the engine's tie-break)
    order2 = np.lexsort((g_univ, -agg, g_need))
    g_need, g_univ, agg, similarity, best_row = g_need[order2], g_univ[order2], agg[order2], similarity[order2], best_row[order2]
    starts = np.flatnonzero(np.r_[True, g_need[1:] != g_need[:-1]]) if len(g_need) else np.empty(0, np.int64)
    starts = np.r_[starts, len(g_need)]
    return Groups(g_need, g_univ, agg, similarity, best_row, starts)


def _need_reports(engine, table: _SeedTable, needs: Sequence[Need], need_regions: list[str | None], groups: Groups,
                  options: ReportOptions) -> list[NeedReport]:
    prefs = engine.prefectures
    by_need: dict[int, tuple[int, int]] = {}
    for a, b in zip(groups.starts[:-1].tolist(), groups.starts[1:].tolist()):
        by_need[int(groups.need_idx[a])] = (a, b)
    univ_l, score_l, sim_l, row_l = (groups.univ.tolist(), groups.score.tolist(), groups.similarity.tolist(),
                                     groups.best_seed_row.tolist())
    seed_ids = table.seed_ids.tolist()

    def partner(j: int, region: str | None) -> PartnerScore:
        u = univ_l[j]
        u_region = table.univ_region[u]
        cross = None if region is None or u_region is None else u_region != region
        return PartnerScore(table.universities[u], table.univ_pref[u], u_region, float(score_l[j]), float(sim_l[j]),
                            seed_ids[row_l[j]], cross)

    out = []
    for i, need in enumerate(needs):
        region = need_regions[i]
        pref = prefs.get(need.prefecture_code) if need.prefecture_code else None
        a, b = by_need.get(i, (0, 0))
        partners = [partner(j, region) for j in range(a, min(b, a + options.top_partners))]
        best_local = None
        if region is not None:
            for j in range(a, b):
                if table.univ_region[univ_l[j]] == region:
                    best_local = partner(j, region)
                    break
        gain = None
        if region is not None and partners:
            gain = partners[0].score - (best_local.score if best_local else 0.0)
        best_sim = max((float(sim_l[j]) for j in range(a, b)), default=0.0)
        out.append(NeedReport(
            need_id=need.id, title=need.title, prefecture_code=pref.code if pref else None,
            prefecture=pref.name if pref else None, region=region, market_areas=tuple(need.market_areas),
            poster=need.poster_name, partners=partners, best_in_region=best_local, gain=gain,
            best_similarity=best_sim, unmet=best_sim < options.unmet_threshold,
        ))
    # flow partners beyond top_partners are needed when flow_partners > top_partners
    if options.flow_partners > options.top_partners:
        for i, report in enumerate(out):
            a, b = by_need.get(i, (0, 0))
            report._flow = [partner(j, need_regions[i]) for j in range(a, min(b, a + options.flow_partners))]
    return out


# ---- summaries (pure: also used by the tests on given score tables) -------------
def summarise(needs: list[NeedReport], universities: list[tuple[str, str | None, str | None]],
              options: ReportOptions, prefectures, area_names: dict[str, str], *, groups: Groups | None = None,
              table: _SeedTable | None = None) -> Report:
    regions = list(REGION_ORDER)
    flow = _flow(needs, regions, options.flow_partners)
    flow_best = _flow(needs, regions, 1)
    silo = _silo(needs)
    by_region = _group_stats(needs, lambda n: [n.region or UNKNOWN_REGION],
                             regions + [UNKNOWN_REGION], {r: r for r in regions + [UNKNOWN_REGION]})
    area_keys = sorted(area_names) + [UNCLASSIFIED_AREA]
    by_area = _group_stats(needs, lambda n: list(n.market_areas) or [UNCLASSIFIED_AREA], area_keys,
                           {**{k: f"{k} {v}" for k, v in area_names.items()}, UNCLASSIFIED_AREA: UNCLASSIFIED_AREA})
    pref_list = sorted(prefectures, key=lambda p: p.code)
    by_pref = _group_stats(needs, lambda n: [n.prefecture_code] if n.prefecture_code else [],
                           [p.code for p in pref_list], {p.code: p.name for p in pref_list}, keep_empty=True)
    unis = _universities(needs, universities, options.flow_partners)
    assignment = None
    if options.assignment_cap is not None and groups is not None:
        assignment = constrained_assignment(needs, groups, table, options)
    meta = ReportMeta(scope="", mode=options.mode, aggregation="", candidates=0, unmet_threshold=options.unmet_threshold,
                      needs=len(needs), seeds=0, universities=len(universities), generated_at="")
    return Report(meta, needs, flow, flow_best, silo, by_region, by_area, by_pref, unis, assignment)


def _flow_partners(need: NeedReport, k: int) -> list[PartnerScore]:
    extra = getattr(need, "_flow", None)
    return (extra if extra is not None and k > len(need.partners) else need.partners)[:k]


def _flow(needs: list[NeedReport], regions: list[str], k: int) -> FlowMatrix:
    index = {r: i for i, r in enumerate(regions)}
    counts = [[0] * len(regions) for _ in regions]
    weighted = [[0.0] * len(regions) for _ in regions]
    for need in needs:
        if need.region is None:
            continue
        for p in _flow_partners(need, k):
            if p.region is None:
                continue
            counts[index[need.region]][index[p.region]] += 1
            weighted[index[need.region]][index[p.region]] += p.score
    return FlowMatrix(regions, counts, weighted, k)


def _silo(needs: list[NeedReport]) -> SiloMeasure:
    counted = [n for n in needs if n.crosses is not None]
    crossing = [n for n in counted if n.crosses]
    gains_cross = [n.gain for n in crossing if n.gain is not None]
    gains_all = [n.gain or 0.0 for n in counted]
    return SiloMeasure(
        needs=len(counted), crossing=len(crossing),
        share_crossing=len(crossing) / len(counted) if counted else 0.0,
        mean_gain_crossing=sum(gains_cross) / len(gains_cross) if gains_cross else 0.0,
        mean_gain_all=sum(gains_all) / len(gains_all) if gains_all else 0.0,
        no_local_partner=sum(1 for n in needs if n.region is not None and n.partners and n.best_in_region is None),
    )


def _group_stats(needs, keys_of, order: list[str], labels: dict[str, str], keep_empty: bool = False) -> list[GroupStat]:
    members: dict[str, list[NeedReport]] = defaultdict(list)
    for need in needs:
        for key in keys_of(need):
            members[key].append(need)
    stats = []
    for key in order + sorted(set(members) - set(order)):
        group = members.get(key, [])
        if not group and not keep_empty:
            continue
        gains = [n.gain for n in group if n.gain is not None]
        stats.append(GroupStat(
            key=key, label=labels.get(key, key), needs=len(group), crossing=sum(1 for n in group if n.crosses),
            unmet=sum(1 for n in group if n.unmet), mean_gain=sum(gains) / len(gains) if gains else 0.0,
            mean_best_similarity=sum(n.best_similarity for n in group) / len(group) if group else 0.0,
        ))
    return stats


def _universities(needs: list[NeedReport], universities, k: int) -> list[UniversityReport]:
    info = {name: (pref, region) for name, pref, region in universities}
    served: dict[str, set[int]] = defaultdict(set)
    regions: dict[str, set[str]] = defaultdict(set)
    cross: dict[str, set[int]] = defaultdict(set)
    best: Counter = Counter()
    for need in needs:
        if need.best is not None:
            best[need.best.university] += 1
        for p in _flow_partners(need, k):
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


# ---- constrained assignment ---------------------------------------------------
def constrained_assignment(needs: list[NeedReport], groups: Groups, table: _SeedTable | None,
                           options: ReportOptions) -> AssignmentReport:
    """Give each need `per_need` partners, at most `cap` needs per university.

    Greedy by score over all (need, university) pairs, best first: optimal for
    per_need=1 up to ties in the sense of never displacing a better pair for a
    worse one, though not a maximum-weight matching. Documented as greedy.
    """
    cap, per_need = options.assignment_cap, options.assignment_per_need
    if cap is None or cap < 1 or per_need < 1:
        raise InvalidInputError("上限（cap）と件数は1以上で指定してください。")
    names = table.universities if table is not None else None
    order = np.lexsort((groups.univ, -groups.score))
    load: Counter = Counter()
    got: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    need_idx, univ, score, sim = groups.need_idx, groups.univ, groups.score, groups.similarity
    for j in order.tolist():
        i = int(need_idx[j])
        if len(got[i]) >= per_need:
            continue
        u = int(univ[j])
        if load[u] >= cap:
            continue
        load[u] += 1
        got[i].append((u, float(score[j]), float(sim[j])))
    # unconstrained: the first per_need partners of each need
    free: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for a, b in zip(groups.starts[:-1].tolist(), groups.starts[1:].tolist()):
        for j in range(a, min(b, a + per_need)):
            free[int(need_idx[j])].append((int(univ[j]), float(score[j]), float(sim[j])))
    free_load: Counter = Counter(u for parts in free.values() for u, _, _ in parts)
    n = len(needs)
    threshold = options.unmet_threshold

    def mean(values):
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    def name(u):
        return names[u] if names is not None else str(u)

    return AssignmentReport(
        cap=cap, per_need=per_need,
        assigned_needs=sum(1 for i in range(n) if got.get(i)),
        coverage=sum(1 for i in range(n) if len(got.get(i, [])) >= per_need) / n if n else 0.0,
        coverage_met=sum(1 for i in range(n) if got.get(i) and max(s for _, _, s in got[i]) >= threshold) / n if n else 0.0,
        coverage_met_unconstrained=sum(1 for i in range(n) if free.get(i) and max(s for _, _, s in free[i]) >= threshold) / n if n else 0.0,
        mean_score=mean(s for parts in got.values() for _, s, _ in parts),
        mean_score_unconstrained=mean(s for parts in free.values() for _, s, _ in parts),
        changed_needs=sum(1 for i in range(n) if {u for u, _, _ in got.get(i, [])} != {u for u, _, _ in free.get(i, [])}),
        max_load_before=max(free_load.values(), default=0), max_load_after=max(load.values(), default=0),
        universities_used_before=len(free_load), universities_used_after=len(load),
        assignments={needs[i].need_id: [name(u) for u, _, _ in parts] for i, parts in sorted(got.items())},
    )


# ---- helpers ----------------------------------------------------------------
def market_area_names() -> dict[str, str]:
    import csv

    from .regions import PREFECTURES_CSV

    path = PREFECTURES_CSV.parent / "market_areas.csv"
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return {row["code"]: row["name"] for row in csv.DictReader(f)}
    except OSError:
        return {}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value
