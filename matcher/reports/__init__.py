"""Batch cross-region matching reports for coordinators: computation only (rendering is `matcher.report_render`).

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
   the bounds of the need's *nationwide* candidates (`rank.Bounds`, so nationwide
   and in-region scores compare and subtract), then grouped per university and
   aggregated with the engine's rule (`EngineSettings.aggregation`, "rms10" by
   default; vectorised here and checked against `rank.AGGREGATIONS` in the tests).
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

The period filter of `ReportScope` reads `Need.extra["created_at"]` (a datetime)
and excludes needs without one; corpus needs carry no date. A caller whose dates
live elsewhere (the API's database) selects the needs itself and passes them.

The package: `model` (the data), `scope` (selection and wording), `candidates`
(seed table, searches), `aggregate` (per need and university), `summary` and
`assignment` (what the report says about all the needs).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError
from ..market_areas import market_area_names
from ..records import Need
from .aggregate import KEEP_PER_NEED, Condensed, Groups, aggregate_candidates, condense, need_reports
from .assignment import constrained_assignment
from .candidates import DenseSearcher, HybridSearcher, Searcher, SeedTable, region_indices
from .model import (
    DEFAULT_UNMET_THRESHOLD,
    MODES,
    AssignmentReport,
    FlowMatrix,
    GroupStat,
    NeedReport,
    PartnerScore,
    Progress,
    Report,
    ReportMeta,
    ReportOptions,
    ReportScope,
    SiloMeasure,
    UniversityReport,
)
from .scope import describe_scope, region_of_need, select_needs
from .summary import summarise

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = [
    "DEFAULT_UNMET_THRESHOLD", "AssignmentReport", "FlowMatrix", "Groups", "GroupStat", "NeedReport", "PartnerScore",
    "Progress", "Report", "ReportMeta", "ReportOptions", "ReportScope", "SiloMeasure", "UniversityReport",
    "aggregate_candidates", "compute_report", "constrained_assignment", "describe_scope", "select_needs", "summarise",
]

Timings = dict[str, float]

_ALL_NEEDS = ReportScope()
_DEFAULT_OPTIONS = ReportOptions()


def compute_report(engine: Engine, scope: ReportScope = _ALL_NEEDS, options: ReportOptions = _DEFAULT_OPTIONS, *,
                   need_vectors: np.ndarray | None = None, needs: Sequence[Need] | None = None,
                   progress: Progress | None = None) -> Report:
    """The whole report for the needs in `scope` (or the given `needs`) against all seeds.

    `scope` also gives the report its description (`describe_scope`), the given
    `needs` or not. `need_vectors` (rows in the order of the needs) skips
    encoding. The engine must not change while the report runs: a caller whose
    engine other threads change passes `engine.reader_copy(their_lock)`, which
    holds that lock for milliseconds rather than for the whole search (the API's
    report jobs, so that live matches never wait for a report). Needs are processed
    in chunks of `options.chunk`: search, aggregation and condensing per chunk
    keep memory bounded (only each need's best `KEEP_PER_NEED` partners are kept).
    """
    _check(options)
    progress = progress or _silent
    timings: Timings = defaultdict(float)
    started = time.perf_counter()
    chosen = list(needs) if needs is not None else select_needs(engine, scope)
    candidates = options.candidates or engine.settings.candidates
    with _stopwatch(timings, "encode_s"):
        vectors = _vectors(engine, chosen, need_vectors, progress)
    with _stopwatch(timings, "prepare_s"):
        table = SeedTable.build(engine)
        need_regions = [region_of_need(n, engine.prefectures) for n in chosen]
        need_region_idx = region_indices(need_regions)
        searcher = _searcher(engine, table, candidates, chosen, vectors, need_regions, need_region_idx, options)
    keep = max(options.top_partners, options.flow_partners, KEEP_PER_NEED)
    condensed = _search_and_condense(engine, searcher, table, need_region_idx, keep, progress, timings)
    progress("集計", 0, 1)
    with _stopwatch(timings, "summarise_s"):
        report = summarise(need_reports(engine.prefectures, table, chosen, need_regions, condensed, options),
                           table.university_rows(), options, engine.prefectures, market_area_names(),
                           groups=condensed.groups, table=table)
    timings["total_s"] = time.perf_counter() - started
    progress("集計", 1, 1)
    report.meta = ReportMeta(
        scope=describe_scope(scope), mode=options.mode, aggregation=engine.settings.aggregation, candidates=candidates,
        unmet_threshold=options.unmet_threshold, needs=len(chosen), seeds=len(table.seed_ids),
        universities=len(table.universities), generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        timings={k: round(v, 3) for k, v in timings.items()},
        notes=_notes(options),
    )
    return report


def _check(options: ReportOptions) -> None:
    if options.mode not in MODES:
        raise InvalidInputError("mode は dense・hybrid のいずれかです。")
    if options.top_partners < 1 or options.flow_partners < 1:
        raise InvalidInputError("連携先の件数は1以上で指定してください。")


def _silent(stage: str, done: int, total: int) -> None:
    """The progress callback when the caller gives none."""


@contextmanager
def _stopwatch(timings: Timings, key: str) -> Iterator[None]:
    """Adds the seconds spent inside to timings[key] (stages run once or once per chunk)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] += time.perf_counter() - start


def _vectors(engine: Engine, needs: Sequence[Need], given: np.ndarray | None, progress: Progress) -> np.ndarray:
    vectors = np.ascontiguousarray(_encode(engine, needs, progress) if given is None else given, dtype=np.float32)
    if len(vectors) != len(needs):
        raise ValueError("need_vectors must have one row per need")
    return vectors


def _encode(engine: Engine, needs: Sequence[Need], progress: Progress, batch: int = 64) -> np.ndarray:
    out = np.empty((len(needs), engine.encoder.dim), dtype=np.float32)
    progress("ニーズを埋め込み", 0, len(needs))
    for start in range(0, len(needs), batch):
        chunk = needs[start:start + batch]
        out[start:start + len(chunk)] = engine.encoder.encode_queries([n.text for n in chunk])
        progress("ニーズを埋め込み", start + len(chunk), len(needs))
    return out


def _searcher(engine: Engine, table: SeedTable, candidates: int, needs: Sequence[Need], vectors: np.ndarray,
              need_regions: Sequence[str | None], need_region_idx: np.ndarray, options: ReportOptions) -> Searcher:
    if options.mode == "dense":
        return DenseSearcher(engine, table, candidates, vectors, need_region_idx, options.chunk)
    return HybridSearcher(engine, table, candidates, needs, vectors, need_regions)


def _search_and_condense(engine: Engine, searcher: Searcher, table: SeedTable, need_region_idx: np.ndarray,
                         keep: int, progress: Progress, timings: Timings) -> Condensed:
    """Search, aggregate and condense chunk by chunk, so that only the condensed partners stay in memory."""
    n = len(need_region_idx)
    parts = []
    progress(searcher.stage, 0, n)
    for start in range(0, n, searcher.step):
        stop = min(start + searcher.step, n)
        with _stopwatch(timings, "search_s"):
            found = searcher.search(start, stop)
        with _stopwatch(timings, "aggregate_s"):
            groups = aggregate_candidates(found.need_idx, found.seed_row, found.score, found.cosine,
                                          table.univ_of_row, engine.settings.aggregation)
            parts.append(condense(groups, start, stop, need_region_idx, table.univ_region_idx, keep))
        progress(searcher.stage, stop, n)
    return Condensed.concat(parts, n)


def _notes(options: ReportOptions) -> list[str]:
    notes = ["スコアは各ニーズの全国候補の内容の近さ（コサイン）を0〜1に正規化し、大学ごとに集約したものです。"]
    if options.mode == "dense":
        notes.append("一括処理のため語の一致（BM25）は含めていません。個別の照合（match）とは順位が異なることがあります。")
    else:
        notes.append("スコアは個別の照合（match）と同じ、内容の近さと語の一致（BM25）の加重和です。")
    notes.append(f"「未充足」は最良シーズの内容の近さ（コサイン）が {options.unmet_threshold:.2f} 未満のニーズです。")
    return notes
