"""Batch cross-region matching reports for coordinators: computation only (no rendering).

    report = compute_report(engine, ReportScope(regions=("中部",)), ReportOptions())

Every need in the scope is matched against every seed nationwide, in batches:

1. The needs are encoded as queries (`encoder.encode_queries`, in chunks), or the
   caller passes vectors (benchmarks, cached vectors).
2. For each chunk of needs (`ReportOptions.chunk`, 1024): **nationwide**, one
   FAISS search of the chunk's need matrix for the `candidates` nearest seeds of
   each need; **in-region**, for each of the 8 regional blocks, one FAISS search
   of the chunk's needs of that block over a flat index of that block's seeds
   only, so that the best in-region partner is found even when no in-region
   seed is among the nationwide candidates (the engine's `match` does the same
   with a filter). A need's candidates are the union of the two lists.
3. Scores follow the engine's dense half: the cosine is min–max normalised with
   the bounds of the need's *nationwide* candidates (so nationwide and in-region
   scores compare and subtract), then grouped per university and aggregated
   with the engine's rule (`EngineSettings.aggregation`, "rms10" by default;
   vectorised here and checked against `rank.AGGREGATIONS` in the tests).
4. Each need keeps its best 50 partners (for the lists, the flow matrix and
   the constrained assignment), its best in-region partner and its best
   seed's cosine; then the summaries are computed from these.

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



# A need whose best seed's raw cosine is below this is "unmet". e5 cosines are compressed:
# off-topic pairs sit near 0.79-0.82. On the demo corpus the needs' best cosines run 0.86-0.95
# (median 0.91); 0.875 flags the bottom ~8%, the niche needs written to be hard to meet
# (urushi curing, somen ageing, plaster-mould recycling …).
DEFAULT_UNMET_THRESHOLD = 0.875

@dataclass(frozen=True)
class ReportOptions:
    top_partners: int = 5  # partners listed per need
    flow_partners: int = 3  # partners of each need counted in the flow matrix
    candidates: int | None = None  # seeds per need per search; None = the engine's setting
    unmet_threshold: float = DEFAULT_UNMET_THRESHOLD
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
    mean_score: float  # mean over all needs × per_need slots of the assigned partners' scores (empty slot = 0)
    mean_score_unconstrained: float  # the same for each need's own best partners
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
    encoding happens outside it. Needs are processed in chunks of
    `options.chunk`: search, aggregation and condensing per chunk keep memory
    bounded (only the best `KEEP_PER_NEED` partners of each need are kept).
    """
    if options.mode not in MODES:
        raise InvalidInputError("mode は dense・hybrid のいずれかです。")
    if options.top_partners < 1 or options.flow_partners < 1:
        raise InvalidInputError("連携先の件数は1以上で指定してください。")
    progress = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = defaultdict(float)
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

    keep = max(options.top_partners, options.flow_partners, KEEP_PER_NEED)
    with (lock if lock is not None else _nolock()):
        t = time.perf_counter()
        table = _SeedTable.build(engine)
        need_regions = [_region_of_need(engine, n) for n in needs]
        need_region_idx = np.array([_REGION_INDEX.get(r, -1) for r in need_regions], dtype=np.int16)
        searcher = _DenseSearcher(engine, table, candidates) if options.mode == "dense" else None
        timings["prepare_s"] = time.perf_counter() - t
        parts: list[Condensed] = []
        stage = "シーズを検索・集約" if options.mode == "dense" else "シーズを検索・集約（語の一致を含む）"
        progress(stage, 0, len(needs))
        step = options.chunk if options.mode == "dense" else 64
        for start in range(0, len(needs), step):
            stop = min(start + step, len(needs))
            t = time.perf_counter()
            if searcher is not None:
                cand = searcher.search(need_vectors[start:stop], need_region_idx[start:stop], start)
            else:
                cand = _hybrid_candidates(engine, table, needs[start:stop], need_vectors[start:stop],
                                          need_regions[start:stop], candidates, start)
            timings["search_s"] += time.perf_counter() - t
            t = time.perf_counter()
            groups = aggregate_candidates(cand.need_idx, cand.seed_row, cand.score, cand.cosine, table.univ_of_row,
                                          engine.settings.aggregation)
            parts.append(condense(groups, start, stop, need_region_idx, table.univ_region_idx, keep))
            timings["aggregate_s"] += time.perf_counter() - t
            progress(stage, stop, len(needs))

    t = time.perf_counter()
    progress("集計", 0, 1)
    condensed = Condensed.concat(parts, len(needs))
    need_reports = _need_reports(engine, table, needs, need_regions, condensed, options)
    report = summarise(need_reports, table_universities(engine, table), options, engine.prefectures,
                       market_area_names(), groups=condensed.groups, table=table)
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


# partners kept per need after aggregation: enough for the lists, the flow and the constrained assignment
KEEP_PER_NEED = 50
_REGION_INDEX = {r: i for i, r in enumerate(REGION_ORDER)}


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

    seed_ids: np.ndarray  # int64, sorted: row order
    univ_of_row: np.ndarray  # int32
    universities: list[str]  # sorted by name: index order is the engine's tie-break order
    univ_pref: list[str | None]
    univ_region: list[str | None]
    univ_region_idx: np.ndarray  # int16, -1 unknown
    seed_region_idx: np.ndarray  # int16 per row, -1 unknown

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
        region_of_code = {p.code: _REGION_INDEX[p.region] for p in prefs}
        univ_code = {name: code for name, code in zip(names, univ_pref)}
        seed_region = np.fromiter(
            (region_of_code.get(s.prefecture_code or univ_code.get(s.university) or "", -1)
             for s in (engine.seeds[i] for i in ids.tolist())), dtype=np.int16, count=len(ids))
        return cls(ids, univ_of_row, names, univ_pref, univ_region,
                   np.array([_REGION_INDEX.get(r, -1) for r in univ_region], dtype=np.int16), seed_region)

    def rows_of(self, seed_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.seed_ids, seed_ids).astype(np.int64)


def table_universities(engine, table: _SeedTable) -> list[tuple[str, str | None, str | None]]:
    return list(zip(table.universities, table.univ_pref, table.univ_region))


@dataclass
class _Candidates:
    """Flat arrays, one entry per (need, seed) candidate."""

    need_idx: np.ndarray  # int64
    seed_row: np.ndarray  # int64
    score: np.ndarray  # float32, normalised (dense) or fused (hybrid)
    cosine: np.ndarray  # float32


class _DenseSearcher:
    """The batched dense path: one FAISS search per chunk nationwide, one per region for the in-region seeds.

    The candidates of a need are its nationwide top k, except the seeds of its
    own region, plus the top k of its own region's seeds. That is the union of
    the two top-k lists without a merge: an in-region seed among the nationwide
    top k has fewer than k seeds of any region above it, so it is also among
    the in-region top k.
    """

    def __init__(self, engine, table: _SeedTable, k: int):
        import faiss

        self.collection = engine.seed_index
        self.table = table
        self.k = max(1, min(k, len(self.collection))) if len(self.collection) else 0
        self.regions: dict[int, tuple[np.ndarray, object, int]] = {}
        for r in range(len(REGION_ORDER)):
            rows = np.flatnonzero(table.seed_region_idx == r)
            if len(rows):
                flat = faiss.IndexFlatIP(self.collection.dim)
                flat.add(np.ascontiguousarray(self.collection.vectors_of(table.seed_ids[rows]), dtype=np.float32))
                self.regions[r] = (rows, flat, min(self.k, len(rows)))

    def search(self, vectors: np.ndarray, region_idx: np.ndarray, offset: int) -> _Candidates:
        n = len(vectors)
        if n == 0 or self.k == 0:
            empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
            return _Candidates(empty_i, empty_i, empty_f, empty_f)
        sims, ids = self.collection.dense.search(vectors, self.k)
        valid = ids >= 0
        low = np.where(valid, sims, np.inf).min(axis=1)
        high = np.where(valid, sims, -np.inf).max(axis=1)
        need = np.repeat(np.arange(n, dtype=np.int64), self.k).reshape(n, self.k)
        rows = np.zeros_like(ids)
        rows[valid] = self.table.rows_of(ids[valid])
        own = (self.table.seed_region_idx[rows] == region_idx[:, None]) & (region_idx[:, None] >= 0)
        keep = valid & ~own
        parts_need, parts_row, parts_sim = [need[keep]], [rows[keep]], [sims[keep]]
        for r, (region_rows, flat, kr) in self.regions.items():
            members = np.flatnonzero(region_idx == r)
            if len(members) == 0:
                continue
            s, local = flat.search(vectors[members], kr)
            ok = local >= 0
            parts_need.append(np.repeat(members, kr).reshape(len(members), kr)[ok])
            parts_row.append(region_rows[local[ok]])
            parts_sim.append(s[ok])
        need_idx = np.concatenate(parts_need)
        cosine = np.concatenate(parts_sim).astype(np.float32)
        lo, hi = low[need_idx], high[need_idx]
        span = hi - lo
        safe = np.where(span > 1e-12, span, 1.0)
        score = np.where(span > 1e-12, np.clip((cosine - lo) / safe, 0.0, 1.0),
                         (cosine > 0).astype(np.float32)).astype(np.float32)
        return _Candidates(need_idx + offset, np.concatenate(parts_row), score, cosine)


def _hybrid_candidates(engine, table: _SeedTable, needs: Sequence[Need], vectors: np.ndarray,
                       need_regions: list[str | None], k: int, offset: int) -> _Candidates:
    """The engine's hybrid scores: one `hybrid_search` per need (nationwide, then its region with the same bounds)."""
    from .search import hybrid_search

    settings = engine.settings
    parts_need, parts_row, parts_score, parts_cos = [], [], [], []
    region_ids = {r: table.seed_ids[table.seed_region_idx == i] for i, r in enumerate(REGION_ORDER)}
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
        parts_need.append(np.full(len(first), offset + i, dtype=np.int64))
        parts_row.append(table.rows_of(all_ids[first]))
        parts_score.append(np.concatenate(fused)[first].astype(np.float32))
        parts_cos.append(np.concatenate(cos)[first].astype(np.float32))
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
    starts: np.ndarray  # first entry of each need present, then len (sentinel)


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


_SCORE_STEPS = (1 << 24) - 1  # seeds are ordered within a group by score quantised to 2^-24


def aggregate_candidates(need_idx: np.ndarray, seed_row: np.ndarray, score: np.ndarray, cosine: np.ndarray,
                         univ_of_row: np.ndarray, aggregation: str) -> Groups:
    """Aggregate seed scores per (need, university) with the engine's rule, vectorised.

    Equal to `rank.AGGREGATIONS[aggregation](sorted scores)` per group (tested);
    only the choice among seeds tied within 2^-24 at a group's k-th place can differ.
    """
    if aggregation not in AGGREGATIONS:
        raise InvalidInputError(f"集約方法「{aggregation}」は使えません。")
    if len(need_idx) == 0:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return Groups(empty_i, empty_i, empty_f, empty_f, empty_i, np.zeros(1, np.int64))
    base = int(need_idx.min())
    univ = univ_of_row[seed_row].astype(np.int64)
    n_univ = int(univ_of_row.max()) + 1
    key = (need_idx.astype(np.int64) - base) * n_univ + univ
    inverse = np.rint((1.0 - np.clip(score.astype(np.float64), 0.0, 1.0)) * _SCORE_STEPS).astype(np.int64)
    order = np.argsort(key * (_SCORE_STEPS + 1) + inverse, kind="stable")  # by group, best seed first
    key_s, score_s, cos_s, row_s = key[order], score[order].astype(np.float64), cosine[order], seed_row[order]
    new_group = np.r_[True, key_s[1:] != key_s[:-1]]
    boundary = np.flatnonzero(new_group)
    group_of = np.cumsum(new_group) - 1
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
            agg = np.bincount(group_of, weights=score_s, minlength=len(boundary))
        else:
            keep = rank_in_group < k
            values = score_s * score_s if kind == "rms" else score_s
            sums = np.bincount(group_of[keep], weights=values[keep], minlength=len(boundary))
            agg = np.sqrt(sums / k) if kind == "rms" else sums / k
    similarity = np.maximum.reduceat(cos_s.astype(np.float64), boundary)
    best_row = row_s[boundary]
    group_key = key_s[boundary]
    g_need = group_key // n_univ + base
    g_univ = group_key % n_univ
    # order: need, score desc, university index (= name order, the engine's tie-break)
    order2 = np.lexsort((g_univ, -agg, g_need))
    g_need, g_univ, agg, similarity, best_row = g_need[order2], g_univ[order2], agg[order2], similarity[order2], best_row[order2]
    starts = np.r_[np.flatnonzero(np.r_[True, g_need[1:] != g_need[:-1]]), len(g_need)]
    return Groups(g_need, g_univ, agg, similarity, best_row, starts)


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
    def concat(cls, parts: list["Condensed"], n: int) -> "Condensed":
        if not parts:
            empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
            g = Groups(empty_i, empty_i, empty_f, empty_f, empty_i, np.zeros(1, np.int64))
            return cls(g, np.full(n, -1), np.zeros(n), np.zeros(n), np.zeros(n, np.int64), np.zeros(n))
        fields = ("need_idx", "univ", "score", "similarity", "best_seed_row")
        arrays = {f: np.concatenate([getattr(p.groups, f) for p in parts]) for f in fields}
        g_need = arrays["need_idx"]
        starts = np.r_[np.flatnonzero(np.r_[True, g_need[1:] != g_need[:-1]]) if len(g_need) else np.empty(0, np.int64),
                       len(g_need)]
        return cls(Groups(**arrays, starts=starts),
                   *(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("local_univ", "local_score", "local_sim", "local_row", "best_sim")))


def condense(groups: Groups, start: int, stop: int, need_region_idx: np.ndarray, univ_region_idx: np.ndarray,
             keep: int) -> Condensed:
    """Keep each need's best `keep` partners; note its best in-region partner and its best seed's cosine."""
    n = stop - start
    local_univ = np.full(n, -1, dtype=np.int64)
    local_score, local_sim = np.zeros(n), np.zeros(n)
    local_row = np.zeros(n, dtype=np.int64)
    best_sim = np.zeros(n)
    g = groups
    if len(g.need_idx):
        firsts = g.starts[:-1]
        present = g.need_idx[firsts] - start
        best_sim[present] = np.maximum.reduceat(g.similarity, firsts)
        region = need_region_idx[g.need_idx]
        in_region = (univ_region_idx[g.univ] == region) & (region >= 0)
        hits = np.flatnonzero(in_region)
        if len(hits):
            # the first in-region entry of each need (entries are sorted by need, score desc)
            first_hit = hits[np.r_[True, g.need_idx[hits][1:] != g.need_idx[hits][:-1]]]
            at = g.need_idx[first_hit] - start
            local_univ[at] = g.univ[first_hit]
            local_score[at] = g.score[first_hit]
            local_sim[at] = g.similarity[first_hit]
            local_row[at] = g.best_seed_row[first_hit]
        group_of = np.repeat(np.arange(len(firsts)), np.diff(g.starts))
        rank = np.arange(len(g.need_idx)) - firsts[group_of]
        mask = rank < keep
        g = Groups(g.need_idx[mask], g.univ[mask], g.score[mask], g.similarity[mask], g.best_seed_row[mask],
                   np.zeros(1, np.int64))
    return Condensed(g, local_univ, local_score, local_sim, local_row, best_sim)


def _need_reports(engine, table: _SeedTable, needs: Sequence[Need], need_regions: list[str | None],
                  condensed: Condensed, options: ReportOptions) -> list[NeedReport]:
    prefs = engine.prefectures
    groups = condensed.groups
    by_need: dict[int, tuple[int, int]] = {}
    starts = groups.starts.tolist()
    need_l = groups.need_idx.tolist()
    for a, b in zip(starts[:-1], starts[1:]):
        by_need[need_l[a]] = (a, b)
    univ_l, score_l, sim_l, row_l = (groups.univ.tolist(), groups.score.tolist(), groups.similarity.tolist(),
                                     groups.best_seed_row.tolist())
    seed_ids = table.seed_ids.tolist()

    def make(u: int, score: float, sim: float, row: int, region: str | None) -> PartnerScore:
        u_region = table.univ_region[u]
        cross = None if region is None or u_region is None else u_region != region
        return PartnerScore(table.universities[u], table.univ_pref[u], u_region, float(score), float(sim),
                            seed_ids[row], cross)

    n_keep = max(options.top_partners, options.flow_partners)
    local_univ, local_score = condensed.local_univ.tolist(), condensed.local_score.tolist()
    local_sim, local_row, best_sims = condensed.local_sim.tolist(), condensed.local_row.tolist(), condensed.best_sim.tolist()
    out = []
    for i, need in enumerate(needs):
        region = need_regions[i]
        pref = prefs.get(need.prefecture_code) if need.prefecture_code else None
        a, b = by_need.get(i, (0, 0))
        listed = [make(univ_l[j], score_l[j], sim_l[j], row_l[j], region) for j in range(a, min(b, a + n_keep))]
        partners = listed[:options.top_partners]
        best_local = None
        if region is not None and local_univ[i] >= 0:
            best_local = make(local_univ[i], local_score[i], local_sim[i], local_row[i], region)
        gain = None
        if region is not None and partners:
            gain = partners[0].score - (best_local.score if best_local else 0.0)
        report = NeedReport(
            need_id=need.id, title=need.title, prefecture_code=pref.code if pref else None,
            prefecture=pref.name if pref else None, region=region, market_areas=tuple(need.market_areas),
            poster=need.poster_name, partners=partners, best_in_region=best_local, gain=gain,
            best_similarity=best_sims[i], unmet=best_sims[i] < options.unmet_threshold,
        )
        if len(listed) > len(partners):
            report._flow = listed  # flow partners beyond the listed ones
        out.append(report)
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

    Greedy by score over the (need, university) pairs, best first: a pair is
    taken when the need still has room and the university is under its cap.
    Not a maximum-weight matching, but it never gives a pair away for a worse
    one. Only each need's best KEEP_PER_NEED (50) partners are considered; a
    need all of whose 50 are full stays without a partner and lowers coverage.
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
        if len(got.get(i, ())) >= per_need:
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

    def per_slot(chosen) -> float:
        """Mean score over all needs × per_need slots; an empty slot counts 0, so the two compare."""
        return sum(s for parts in chosen.values() for _, s, _ in parts) / (n * per_need) if n else 0.0

    def name(u):
        return names[u] if names is not None else str(u)

    return AssignmentReport(
        cap=cap, per_need=per_need,
        assigned_needs=sum(1 for i in range(n) if got.get(i)),
        coverage=sum(1 for i in range(n) if len(got.get(i, [])) >= per_need) / n if n else 0.0,
        coverage_met=sum(1 for i in range(n) if got.get(i) and max(s for _, _, s in got[i]) >= threshold) / n if n else 0.0,
        coverage_met_unconstrained=sum(1 for i in range(n) if free.get(i) and max(s for _, _, s in free[i]) >= threshold) / n if n else 0.0,
        mean_score=per_slot(got),
        mean_score_unconstrained=per_slot(free),
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
