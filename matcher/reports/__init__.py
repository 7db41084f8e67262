"""Batch cross-region matching reports for coordinators: computation only (rendering is `matcher.report_render`).

    report = compute_report(engine, ReportScope(regions=("中部",)), ReportOptions())

Every need in the scope is matched against every seed nationwide, in batches, **with
the scores of `engine.match`** (the page and the API): the same candidates, the same
hybrid score and the same aggregation, equal to the last bit (tests/test_reports_agree.py).

1. The needs are encoded as queries (`encoder.encode_queries`, in chunks), or the
   caller passes vectors (benchmarks, cached vectors). Their BM25 terms are those
   the need index holds for the same text, else the tokenizer's.
2. For each chunk of needs (`ReportOptions.chunk`, 128), `search_batch.BatchSearch`
   (or its shards on a Ray cluster: `compute_report(shards=…)`, `matcher.shards`)
   gives each need what `hybrid_search` gives `engine.match`: the cosines with every
   seed from one matrix product, the BM25 scores from one sparse product of the
   chunk's terms with the seeds' term weights; the dense top N ∪ the BM25 top N, the
   bounds of that union (`rank.Bounds`) and the fused score (`rank.fuse_scores`).
   It does so **nationwide** and **within the need's region** (the region's seeds
   only, normalised on the nationwide bounds, as `match(scope="in-region")`), so
   that the best in-region partner is found even when none of its seeds is among
   the nationwide candidates, and nationwide and in-region scores subtract.
3. Each set is grouped per university and aggregated with the rule of the sort
   (`ReportOptions.sort` through `rank.sort_rule`, as `engine.match(sort=…)`: 総合 the
   engine's rule, `EngineSettings.aggregation`, "rms10" by default; 内容重視 the best
   seed alone) by `rank.aggregate_entries`, the function `engine.match` calls too;
   partners are ordered by score, then name, each with its seed count (実績・体制).
4. Each need keeps its best 50 partners (for the lists, the flow matrix and
   the constrained assignment), its best in-region partner and its best seed's
   cosine; then the summaries are computed from these. The report lists partners
   in score order: the page's cross-region guarantee (which promotes outside
   partners into places 8–10 of its top 10) is a display rule it does not apply.

`mode="dense"` ranks by the embeddings alone (the engine's `hybrid_search(mode="dense")`),
which is what reports did before they had BM25 in batch; it is kept for comparison.

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
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError
from ..jst import now_jst_iso
from ..market_areas import market_area_names
from ..rank import SORTS, sort_rule
from ..records import Need
from ..shards import open_batch_search
from .aggregate import KEEP_PER_NEED, Condensed, Groups, aggregate_candidates, condense, need_reports
from .assignment import constrained_assignment
from .candidates import Searcher, SeedTable, need_terms, region_indices, vocabulary_of
from .concentration import OVER_SHARE
from .model import (
    DEFAULT_UNMET_THRESHOLD,
    MODES,
    AssignmentReport,
    ConcentrationRow,
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
from .wording import threshold_text, unmet_rule

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = [
    "DEFAULT_UNMET_THRESHOLD", "OVER_SHARE", "AssignmentReport", "ConcentrationRow", "FlowMatrix", "Groups",
    "GroupStat", "NeedReport", "PartnerScore", "Progress", "Report", "ReportMeta", "ReportOptions", "ReportScope",
    "SiloMeasure", "UniversityReport", "aggregate_candidates", "compute_report", "constrained_assignment",
    "describe_scope", "select_needs", "summarise", "threshold_text", "unmet_rule",
]

Timings = dict[str, float]

NeedVectors = np.ndarray | Sequence[np.ndarray | None]  # a matrix, or one row (or None) per need

_ALL_NEEDS = ReportScope()
_DEFAULT_OPTIONS = ReportOptions()


def compute_report(engine: Engine, scope: ReportScope = _ALL_NEEDS, options: ReportOptions = _DEFAULT_OPTIONS, *,
                   need_vectors: NeedVectors | None = None, needs: Sequence[Need] | None = None,
                   progress: Progress | None = None, shards: int = 1, ray_address: str | None = None) -> Report:
    """The whole report for the needs in `scope` (or the given `needs`) against all seeds.

    `scope` also gives the report its description (`describe_scope`), the given
    `needs` or not. `need_vectors` (rows in the order of the needs; a None row
    where a need has no stored vector) skips encoding those needs. The engine
    must not change while the report runs: a caller whose
    engine other threads change passes `engine.reader_copy(their_lock)`, which
    holds that lock for milliseconds rather than for the whole search (the API's
    report jobs, so that live matches never wait for a report). Needs are processed
    in chunks of `options.chunk`: search, aggregation and condensing per chunk
    keep memory bounded (only each need's best `KEEP_PER_NEED` partners are kept).
    """
    _check(options, shards)
    rule = sort_rule(options.sort, engine.settings.aggregation)  # the ranking engine.match(sort=…) uses
    progress = progress or _silent
    timings: Timings = defaultdict(float)
    started = time.perf_counter()
    chosen = list(needs) if needs is not None else select_needs(engine, scope)
    candidates = options.candidates or engine.settings.candidates
    with _stopwatch(timings, "encode_s"):
        vectors = _vectors(engine, chosen, need_vectors, progress)
    keep = max(options.top_partners, options.flow_partners, KEEP_PER_NEED)
    with ExitStack() as stack:
        with _stopwatch(timings, "prepare_s"):
            table = SeedTable.build(engine)
            need_regions = [region_of_need(n, engine.prefectures) for n in chosen]
            terms = need_terms(engine, chosen)
            batch = stack.enter_context(open_batch_search(
                engine.seed_index, table.seed_ids, vocabulary_of(terms), shards=shards, ray_address=ray_address,
                candidates=candidates, dense_weight=engine.settings.dense_weight, mode=options.mode))
            searcher = Searcher(batch, table, vectors, terms, region_indices(need_regions), options.chunk)
        condensed = _search_and_condense(searcher, table, len(chosen), keep, rule, progress, timings)
    progress("集計", 0, 1)
    with _stopwatch(timings, "summarise_s"):
        report = summarise(need_reports(engine.prefectures, table, chosen, need_regions, condensed, options),
                           table.university_rows(), options, engine.prefectures, market_area_names(),
                           groups=condensed.groups, table=table)
    timings["total_s"] = time.perf_counter() - started
    progress("集計", 1, 1)
    report.meta = ReportMeta(
        scope=describe_scope(scope), mode=options.mode, aggregation=rule, candidates=candidates,
        unmet_threshold=options.unmet_threshold, needs=len(chosen), seeds=len(table.seed_ids),
        universities=len(table.universities), generated_at=now_jst_iso(),
        timings={k: round(v, 3) for k, v in timings.items()},
        notes=_notes(options), sort=options.sort,
    )
    return report


def _check(options: ReportOptions, shards: int) -> None:
    if options.mode not in MODES:
        raise InvalidInputError("mode は dense・hybrid のいずれかです。")
    if options.sort not in SORTS:
        raise InvalidInputError("並べ替え（sort）は overall（総合）・content（内容重視）のいずれかです。")
    if options.top_partners < 1 or options.flow_partners < 1:
        raise InvalidInputError("連携先の件数は1以上で指定してください。")
    if shards < 1:
        raise InvalidInputError("シャード数（shards）は1以上で指定してください。")


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


def _vectors(engine: Engine, needs: Sequence[Need], given: NeedVectors | None, progress: Progress) -> np.ndarray:
    """One query vector per need: the given rows, and the needs' encoded where none is given (None rows)."""
    if given is None:
        given = [None] * len(needs)
    if len(given) != len(needs):
        raise ValueError("need_vectors must have one row per need")
    if isinstance(given, np.ndarray):
        return np.ascontiguousarray(given, dtype=np.float32)
    missing = [i for i, row in enumerate(given) if row is None]
    encoded = _encode(engine, [needs[i] for i in missing], progress)
    vectors = np.empty((len(needs), engine.encoder.dim), dtype=np.float32)
    for i, row in enumerate(given):
        if row is not None:
            vectors[i] = row
    vectors[missing] = encoded
    return vectors


def _encode(engine: Engine, needs: Sequence[Need], progress: Progress, batch: int = 64) -> np.ndarray:
    out = np.empty((len(needs), engine.encoder.dim), dtype=np.float32)
    progress("ニーズを埋め込み", 0, len(needs))
    for start in range(0, len(needs), batch):
        chunk = needs[start:start + batch]
        out[start:start + len(chunk)] = engine.encoder.encode_queries([n.text for n in chunk])
        progress("ニーズを埋め込み", start + len(chunk), len(needs))
    return out


def _search_and_condense(searcher: Searcher, table: SeedTable, n: int, keep: int, rule: str,
                         progress: Progress, timings: Timings) -> Condensed:
    """Search, aggregate and condense chunk by chunk, so that only the condensed partners stay in memory."""
    parts = []
    progress(searcher.stage, 0, n)
    blocks = searcher.blocks()
    while True:
        with _stopwatch(timings, "search_s"):  # on shards: the wait for the block searched ahead
            block = next(blocks, None)
        if block is None:
            break
        start, stop, found, within = block
        with _stopwatch(timings, "aggregate_s"):
            groups, local = (aggregate_candidates(f.need_idx, f.seed_row, f.score, f.cosine, table.univ_of_row,
                                                  rule) for f in (found, within))
            parts.append(condense(groups, local, start, stop, keep))
        progress(searcher.stage, stop, n)
    return Condensed.concat(parts, n)


def _notes(options: ReportOptions) -> list[str]:
    if options.mode == "dense":
        notes = ["スコアは各ニーズの全国候補の内容の近さ（コサイン）を0〜1に正規化し、大学ごとに集約したものです。",
                 "語の一致（BM25）を含めない比較用の方式です。個別の照合（match）とは順位が異なることがあります。"]
    else:
        notes = ["スコアは個別の照合（画面・API の match）と同じ計算です: 内容の近さ（コサイン）と語の一致（BM25）を"
                 "それぞれ全国の候補で0〜1に正規化した加重和を、大学ごとに集約したものです。"]
    notes.append("連携先はスコアの順です（画面で地域外の候補を繰り上げて示す規則は適用していません）。")
    notes.append(f"{unmet_rule(options.unmet_threshold)}（内容の近さは、ニーズに最も合うシーズとのコサイン）。")
    return notes
