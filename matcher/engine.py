"""The engine façade: what the CLI and the API call.

    engine = Engine(encoder)                       # or Engine.open(index_dir, encoder, ...)
    engine.sync_seeds(seeds); engine.sync_needs(needs)
    result = engine.match("…ニーズ本文…", prefecture="15")
    hits = engine.needs_for_seed(seed_id)

The records (seeds, needs, universities) come from the source of truth; the
engine keeps a copy, and its indexes are derived data that `sync_*` brings in
line with the records, re-embedding only what changed. A caller that keeps the
passage vectors itself (the API, in its database) hands them in: `upsert_*`
take the item's vector, `open` and `sync_*` a `known` lookup by fingerprint,
and then nothing it knows is encoded again.

The façade holds the records and the indexes and wires the steps together:
index_sync.py keeps the indexes in line with the records, filters.py narrows
the candidates (scopes, confidential needs), search.py finds candidates,
rank.py scores partners, explain.py gathers the evidence shown beside a score,
and results.py holds what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .ann import AnnSettings, AnnSlot
from .cross_region import ensure_cross_region
from .domain_terms import display_stop_terms
from .embed import TextEncoder
from .errors import InvalidInputError, NotFoundError
from .explain import Explainer
from .explain_terms import TextTermsCache
from .filters import Filter, both, ids_where, not_confidential
from .index import Collection
from .index_sync import KnownVectors, ProgressCallback, Vector, embed_and_upsert, saved_or_empty, sync_collection
from .partner_codes import PartnerCodes
from .places import Location, Places, default_places
from .rank import (
    DEFAULT_DENSE_WEIGHT,
    DEFAULT_SORT,
    LEVELS,
    SORTS,
    PartnerGroups,
    Ranked,
    SeedCounts,
    group_by_partner,
    rank_partners,
    sort_rule,
)
from .records import Need, Seed, University
from .region_ids import Ids, RegionIds
from .regions import Prefecture, PrefectureTable, default_prefectures
from .results import MatchResult, NeedHit, Partner, SyncReport
from .search import DEFAULT_CANDIDATES, Candidates, SharedScores, hybrid_search, shared_scores
from .seed_groups import SeedFilter, SeedGroups
from .text import JapaneseTokenizer, Token, check_text, default_tokenizer

SCOPES = ("all", "cross-region", "in-region")


def _given(vector: Vector | None) -> KnownVectors | None:
    """The lookup that answers the one text being upserted with the caller's vector for it."""
    if vector is None:
        return None
    return lambda prints: dict.fromkeys(prints, vector)


@dataclass(frozen=True)
class EngineSettings:
    candidates: int = DEFAULT_CANDIDATES  # per retriever, per query
    dense_weight: float = DEFAULT_DENSE_WEIGHT
    # chosen by `bench need2univ` (README, "Benchmarks"): root mean square of the 10 best seeds
    aggregation: str = "rms10"
    min_shared_idf: float = 1.5  # a shared term shown to users must be rarer than this (BM25 idf)
    min_cross_share: float = 0.3  # of the first `cross_window` partners
    cross_window: int = 10
    cross_tolerance: float = 0.25  # an outside partner within 25% below the cut may be promoted
    max_text_chars: int = 20_000
    max_top_k: int = 50
    seeds_per_partner: int = 3
    # A partner lists its next seeds only when their fused score is at least this share of its best seed's.
    # On the demo (121 needs × 10 partners, 2,420 second and third seeds), a seed unrelated to the need sits at
    # the dense-only baseline, fused 0.25–0.35, while a partner's matching seed scores 0.5–1.0: under the CNF
    # car-part need, 京都大学's CNF seed scores 0.72 and its two unrelated ones 0.27 and 0.26 (0.38 and 0.36 of
    # it); under the Kyoto tourism need, 宮城大学 and 公立はこだて未来大学 list their tourism seed alone (the
    # next at 0.29 and 0.52 of it), APU its two tourism seeds (0.85; a third at 0.70 is left out). 0.75 keeps
    # 35% of the second and third seeds (partners list 1 seed: 640, 2: 283, 3: 287 of 1,210). A weak partner
    # (best seed near the baseline) keeps near-baseline seeds, but its band (関連あり) already says it is weak.
    seed_floor: float = 0.75
    shared_terms_shown: int = 8


class Engine:
    def __init__(
        self,
        encoder: TextEncoder,
        *,
        settings: EngineSettings | None = None,
        prefectures: PrefectureTable | None = None,
        tokenizer: JapaneseTokenizer | None = None,
        universities: Iterable[University] = (),
    ):
        self.encoder = encoder
        self.settings = settings or EngineSettings()
        self.prefectures = prefectures or default_prefectures()
        # where needs and universities are, for distances; the master's, on the engine's prefecture table
        self.places = default_places() if self.prefectures is default_prefectures() else \
            Places.from_master(self.prefectures)
        self.tokenizer = tokenizer or default_tokenizer()
        self.explained_texts = TextTermsCache(self.tokenizer, display_stop_terms())  # shared by reader copies
        self.universities: dict[str, University] = {u.name: u for u in universities}
        self.seeds: dict[int, Seed] = {}
        self.seed_groups = SeedGroups()  # region, prefecture, market area → seed ids, kept by every write
        self.seed_counts = SeedCounts()  # 実績・体制: each partner's seeds, kept with `seeds`
        self.partner_codes = PartnerCodes()  # each seed's partners as integers, for grouping candidates
        self.needs: dict[int, Need] = {}
        self.seed_index = Collection(encoder.dim, encoder.name)
        self.need_index = Collection(encoder.dim, encoder.name)

    # ---- persistence -------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, encoder: TextEncoder, *, seeds: Iterable[Seed] = (), needs: Iterable[Need] = (),
             progress: ProgressCallback | None = None, known: KnownVectors | None = None,
             settings: EngineSettings | None = None, prefectures: PrefectureTable | None = None,
             tokenizer: JapaneseTokenizer | None = None, universities: Iterable[University] = (),
             ann: AnnSettings | None = None) -> tuple[Engine, SyncReport, SyncReport]:
        """Load the saved indexes, bring them in line with the records, and save if anything changed.

        A missing, corrupt or outdated index directory is rebuilt from the records, with the vectors
        `known` holds and the encoder for the rest. `ann`: the settings of both collections' approximate
        indexes (ann.py), so that a large saved collection is trained once, under these, as it loads.
        """
        engine = cls(encoder, settings=settings, prefectures=prefectures, tokenizer=tokenizer,
                     universities=universities)
        if ann is not None:
            engine.seed_index.ann, engine.need_index.ann = AnnSlot(ann), AnnSlot(ann)
        index_dir = Path(index_dir)
        engine.seed_index = saved_or_empty(engine.seed_index, index_dir / "seeds")
        engine.need_index = saved_or_empty(engine.need_index, index_dir / "needs")
        seed_report = engine.sync_seeds(seeds, progress=progress, known=known)
        need_report = engine.sync_needs(needs, progress=progress, known=known)
        if seed_report.changed or need_report.changed or not (index_dir / "seeds" / "config.json").exists():
            engine.save(index_dir)
        return engine, seed_report, need_report

    def save(self, index_dir: Path) -> None:
        self.seed_index.save(Path(index_dir) / "seeds")
        self.need_index.save(Path(index_dir) / "needs")

    def reader_copy(self, lock: AbstractContextManager[Any] | None = None) -> Engine:
        """An independent engine as this one is now, for a long read (a report) that later writes leave alone.

        Under `lock` (the caller's, which serialises writes with reads) it only copies: the record dicts by
        reference (records are immutable), each collection's vectors and ids (a memcpy each) and its BM25
        statistics (pointer copies), milliseconds at 10^5 seeds. The copy's FAISS indexes are built after
        `lock` is released. Encoder, tokenizer, settings and prefectures are shared: none changes after start.
        """
        with lock if lock is not None else nullcontext():
            seeds, needs, universities = dict(self.seeds), dict(self.needs), dict(self.universities)
            seed_counts, seed_groups = self.seed_counts.copy(), self.seed_groups.copy()
            partner_codes = self.partner_codes.copy()
            seed_index, need_index = self.seed_index.reader_copy(), self.need_index.reader_copy()
        copy = Engine(self.encoder, settings=self.settings, prefectures=self.prefectures, tokenizer=self.tokenizer)
        copy.seeds, copy.needs, copy.universities, copy.seed_counts = seeds, needs, universities, seed_counts
        copy.seed_groups, copy.partner_codes = seed_groups, partner_codes
        copy.explained_texts = self.explained_texts  # the same texts explain alike; the cache is thread-safe
        copy.seed_index, copy.need_index = seed_index.open(), need_index.open()
        return copy

    # ---- keeping the indexes in line with the records -----------------
    def sync_seeds(self, seeds: Iterable[Seed], progress: ProgressCallback | None = None,
                   known: KnownVectors | None = None) -> SyncReport:
        """Make the seed index hold exactly `seeds`, embedding only new or changed ones that `known` lacks."""
        seeds = list(seeds)
        self.replace_seed_records(seeds)
        return sync_collection(self.seed_index, {s.id: s.text for s in seeds}, self.encoder, self.tokenizer, progress,
                               known)

    def replace_seed_records(self, seeds: Iterable[Seed]) -> None:
        """Hold exactly `seeds` as records, with what is derived from them (universities learnt, counts per
        partner, regions), leaving the index alone: sync_seeds, or a benchmark that fills the index itself."""
        seeds = list(seeds)
        for seed in seeds:
            self._learn_university(seed)
        self.seeds = {s.id: s for s in seeds}
        self.seed_counts = SeedCounts(self.seeds.values())
        self.seed_groups = SeedGroups()
        self.partner_codes = PartnerCodes()
        for seed in seeds:
            self._group(seed)
            self.partner_codes.put(seed)

    def sync_needs(self, needs: Iterable[Need], progress: ProgressCallback | None = None,
                   known: KnownVectors | None = None) -> SyncReport:
        needs = list(needs)
        self.needs = {n.id: n for n in needs}
        return sync_collection(self.need_index, {n.id: n.text for n in needs}, self.encoder, self.tokenizer, progress,
                               known)

    def upsert_seed(self, seed: Seed, vector: Vector | None = None, terms: Sequence[str] | None = None) -> None:
        """Add or replace a seed. `vector` is the passage vector of `seed.text`, where the caller has computed it;
        without it, an unchanged text keeps the vector the index holds, and a changed one is encoded here.
        `terms`: the text's BM25 terms, where the caller has tokenised it (else it is tokenised here)."""
        self._learn_university(seed)
        old = self.seeds.get(seed.id)
        if old is not None:
            self.seed_counts.remove(old)
        self.seeds[seed.id] = seed
        self.seed_counts.add(seed)
        self._group(seed)
        self.partner_codes.put(seed)
        embed_and_upsert(self.seed_index, {seed.id: seed.text}, self.encoder, self.tokenizer, _given(vector),
                         None if terms is None else {seed.id: terms})

    def delete_seed(self, seed_id: int) -> None:
        removed = self.seeds.pop(seed_id, None)
        if removed is None:
            raise NotFoundError("シーズ", seed_id)
        self.seed_counts.remove(removed)
        self.seed_groups.remove(seed_id)
        self.partner_codes.remove(seed_id)
        self.seed_index.delete([seed_id])

    def upsert_need(self, need: Need, vector: Vector | None = None, terms: Sequence[str] | None = None) -> None:
        """Add or replace a need; `vector` and `terms` as for `upsert_seed`."""
        self.needs[need.id] = need
        embed_and_upsert(self.need_index, {need.id: need.text}, self.encoder, self.tokenizer, _given(vector),
                         None if terms is None else {need.id: terms})

    def delete_need(self, need_id: int) -> None:
        if self.needs.pop(need_id, None) is None:
            raise NotFoundError("ニーズ", need_id)
        self.need_index.delete([need_id])

    def add_university(self, university: University) -> None:
        old = self.universities.get(university.name)
        self.universities[university.name] = university
        if old is not None and old.prefecture_code == university.prefecture_code:
            # its seeds lie where they did: no pass over every seed (each seed write calls this, under the
            # service's lock: 10^5 seeds made it the largest part of a write's index work)
            return
        for seed in self.seeds.values():  # a seed without a prefecture of its own lies where its university is
            if seed.university == university.name and not seed.prefecture_code:
                self._group(seed)

    # ---- need → partners ---------------------------------------------
    def match(
        self,
        text: str,
        prefecture: object = None,
        *,
        top_k: int = 10,
        level: str = "university",
        scope: str = "all",
        seed_filter: SeedFilter | None = None,
        query_vector: NDArray[np.float32] | None = None,
        municipality: str | None = None,
        sort: str = DEFAULT_SORT,
    ) -> MatchResult:
        """Ranked university partners for a need, with explanations and the best in-region partner.

        `municipality`: the need's 全国地方公共団体コード (or name), for distances; places.py says how it counts.
        `sort`: "overall" (総合, the adopted ranking) or "content" (内容重視, the best seed alone): rank.sort_rule.
        """
        text = check_text(text, field="ニーズの本文", max_chars=self.settings.max_text_chars)
        self._check_options(top_k, level, scope)
        rule = self._sort_rule(sort)
        need_pref = self._prefecture(prefecture)
        if scope != "all" and need_pref is None:
            raise InvalidInputError("地域を絞り込むには、ニーズの都道府県を指定してください。")

        query_tokens = self.tokenizer.tokens(text)
        query_terms = [t.term for t in query_tokens]
        if query_vector is None:  # batch callers (benchmarks, reports) encode many needs at once
            query_vector = self.encoder.encode_queries([text])[0]
        # The unfiltered search fixes the score normalisation for every scope of this query; the dense product
        # with every seed and BM25 of every seed are computed once for all of them.
        shared = shared_scores(self.seed_index, query_vector, query_terms)
        everything = self._search_seeds(query_vector, query_terms, shared=shared)

        def search_within(allowed: Ids | None) -> Candidates:
            if allowed is None:
                return everything
            return self._search_seeds(query_vector, query_terms, allowed, everything, shared)

        region = need_pref.region if need_pref else None
        in_region = self.seed_regions.inside(region) if need_pref else None
        scope_ids = {"all": None, "in-region": in_region,
                     "cross-region": self.seed_regions.outside(region) if need_pref else None}[scope]
        found = search_within(self._narrowed(scope_ids, seed_filter))
        ranked, groups = self._rank(found, level, need_pref, rule)
        if scope == "all" and need_pref is not None:
            shown = ensure_cross_region(ranked, top_k, min_share=self.settings.min_cross_share,
                                        window=self.settings.cross_window, tolerance=self.settings.cross_tolerance)
        else:
            shown = ranked[:top_k]
        place = self.places.locate(need_pref.code, municipality) if need_pref else None
        explainer = self._explainer(query_tokens, place, self.seed_index)
        partners = [explainer.partner(r, level, groups[r.key]) for r in shown]

        best_local = None
        if in_region is not None:
            local = found if scope == "in-region" else search_within(self._narrowed(in_region, seed_filter))
            best_local = self._best_partner(local, level, need_pref, explainer, rule)

        need_spans = explainer.need_spans(partners)
        return MatchResult(text=text, prefecture=need_pref, scope=scope, level=level, partners=partners,
                           best_in_region=best_local, need_spans=need_spans, query_terms=query_terms, sort=sort)

    def match_need(self, need_id: int, *, top_k: int = 10, level: str = "university", scope: str = "all",
                   seed_filter: SeedFilter | None = None, sort: str = DEFAULT_SORT) -> MatchResult:
        need = self.needs.get(need_id)
        if need is None:
            raise NotFoundError("ニーズ", need_id)
        return self.match(need.text, need.prefecture_code, top_k=top_k, level=level, scope=scope,
                          seed_filter=seed_filter, municipality=need.municipality_code, sort=sort)

    # ---- seed → needs ------------------------------------------------
    def needs_for_seed(self, seed_id: int, *, top_k: int = 10, include_confidential: bool = False,
                       need_filter: Filter[Need] | None = None) -> list[NeedHit]:
        """The needs a registered seed fits, best first."""
        seed = self.seeds.get(seed_id)
        if seed is None:
            raise NotFoundError("シーズ", seed_id)
        return self.needs_for_text(seed.text, seed.prefecture_code, top_k=top_k,
                                   include_confidential=include_confidential, need_filter=need_filter,
                                   university=seed.university)

    def needs_for_text(self, text: str, prefecture: object = None, *, top_k: int = 10,
                       include_confidential: bool = False, need_filter: Filter[Need] | None = None,
                       query_vector: NDArray[np.float32] | None = None,
                       university: str | None = None) -> list[NeedHit]:
        """The needs a seed's text fits. `university`: the seed's, which places the seed at its campus
        when it lies in the campus's prefecture (distances)."""
        text = check_text(text, field="シーズの本文", max_chars=self.settings.max_text_chars)
        self._check_options(top_k, "seed", "all")
        seed_pref = self._prefecture(prefecture)
        tokens = self.tokenizer.tokens(text)
        terms = [t.term for t in tokens]
        vector = self.encoder.encode_queries([text])[0] if query_vector is None else query_vector
        visible = both(None if include_confidential else not_confidential, need_filter)
        allowed = None if visible is None else ids_where(self.needs, visible)
        found = hybrid_search(self.need_index, vector, terms, candidates=self.settings.candidates,
                              allowed=allowed, dense_weight=self.settings.dense_weight).top(top_k)
        explainer = self._explainer(tokens, self._seed_place(seed_pref, university), self.need_index)
        return [explainer.need_hit(self.needs[need_id], score, similarity)
                for need_id, score, similarity, _ in found.rows()]

    # ---- internals ---------------------------------------------------
    def _check_options(self, top_k: int, level: str, scope: str) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= self.settings.max_top_k:
            raise InvalidInputError(f"表示件数（top_k）は1〜{self.settings.max_top_k}の整数で指定してください。")
        if level not in LEVELS:
            raise InvalidInputError("表示単位（level）は university・researcher・seed のいずれかです。")
        if scope not in SCOPES:
            raise InvalidInputError("範囲（scope）は all・cross-region・in-region のいずれかです。")

    def _sort_rule(self, sort: str) -> str:
        if sort not in SORTS:
            raise InvalidInputError("並べ替え（sort）は overall（総合）・content（内容重視）のいずれかです。")
        return sort_rule(sort, self.settings.aggregation)

    def _prefecture(self, value: object) -> Prefecture | None:
        """The prefecture a code or name stands for; None where none is given."""
        return self.prefectures.get(value) if value not in (None, "") else None

    def _learn_university(self, seed: Seed) -> None:
        if seed.university not in self.universities:
            self.universities[seed.university] = University(name=seed.university, prefecture_code=seed.prefecture_code)

    @property
    def seed_regions(self) -> RegionIds:
        """region → seed ids (the scopes)"""
        return self.seed_groups.regions

    def _place_of_seed(self, seed: Seed) -> Prefecture | None:
        """Where a seed lies: its own prefecture, or else its university's."""
        return self._prefecture(seed.prefecture_code or self.universities[seed.university].prefecture_code)

    def _group(self, seed: Seed) -> None:
        place = self._place_of_seed(seed)
        self.seed_groups.put(seed.id, region=place.region if place else None, prefecture=place.code if place else None,
                             market_areas=seed.market_areas)

    def _narrowed(self, allowed: Ids | None, seed_filter: SeedFilter | None) -> Ids | None:
        """The seed ids a search may return: `allowed` (None: every seed) that `seed_filter` accepts."""
        return self.seed_groups.narrowed(allowed, seed_filter)

    def _search_seeds(self, vector: NDArray[np.float32], terms: Sequence[str], allowed: Ids | None = None,
                      normalised_as: Candidates | None = None, shared: SharedScores | None = None) -> Candidates:
        """Seed candidates, restricted to the ids `allowed` (None: every seed), scored on the scale of
        `normalised_as`."""
        bounds = None if normalised_as is None else (normalised_as.dense_bounds, normalised_as.lexical_bounds)
        return hybrid_search(self.seed_index, vector, terms, candidates=self.settings.candidates, allowed=allowed,
                             bounds=bounds, dense_weight=self.settings.dense_weight, shared=shared)

    def _rank(self, found: Candidates, level: str, need_pref: Prefecture | None,
              rule: str) -> tuple[list[Ranked], PartnerGroups]:
        """Partners of `level`, best first by the aggregation `rule`, and the candidate seeds of each."""
        groups = group_by_partner(found, self.seeds, level, self.partner_codes)
        counts = self.seed_counts
        regions = self.seed_regions
        ranked = rank_partners(groups, rule, region_of=lambda seed: regions.region_of(seed.id),
                               need_region=need_pref.region if need_pref else None,
                               seed_count=lambda seed: counts.count(seed, level))
        return ranked, groups

    def _best_partner(self, found: Candidates, level: str, need_pref: Prefecture | None,
                      explainer: Explainer, rule: str) -> Partner | None:
        ranked, groups = self._rank(found, level, need_pref, rule)
        return explainer.partner(ranked[0], level, groups[ranked[0].key]) if ranked else None

    def _seed_place(self, prefecture: Prefecture | None, university: str | None) -> Location | None:
        if prefecture is None:
            return None
        known = self.universities.get(university) if university else None
        campus = self.places.campus(university, known.prefecture_code if known else prefecture.code,
                                    known.municipality_code if known else None) if university else None
        return campus if campus is not None and campus.prefecture == prefecture else Location(prefecture)

    def _explainer(self, query_tokens: Sequence[Token], place: Location | None,
                   collection: Collection) -> Explainer:
        return Explainer(query_tokens, place, collection.lexical, self.tokenizer, self.places,
                         self.universities, min_shared_idf=self.settings.min_shared_idf,
                         shared_terms_shown=self.settings.shared_terms_shown,
                         seeds_per_partner=self.settings.seeds_per_partner, seed_floor=self.settings.seed_floor,
                         stop=self.explained_texts.stop, texts=self.explained_texts)
