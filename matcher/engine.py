"""The engine façade: what the CLI and the API call.

    engine = Engine(encoder)                       # or Engine.open(index_dir, encoder, ...)
    engine.sync_seeds(seeds); engine.sync_needs(needs)
    result = engine.match("…ニーズ本文…", prefecture="15")
    hits = engine.needs_for_seed(seed_id)

The records (seeds, needs, universities) come from the source of truth; the
engine keeps a copy, and its indexes are derived data that `sync_*` brings in
line with the records, re-embedding only what changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import IndexFormatError, InvalidInputError, NotFoundError
from .index import Collection, fingerprint
from .rank import Ranked, aggregate, ensure_cross_region
from .records import Liaison, Need, Researcher, Seed, University
from .regions import Prefecture, PrefectureTable, default_prefectures
from .search import DEFAULT_CANDIDATES, Candidates, hybrid_search
from .text import JapaneseTokenizer, Token, check_text, default_tokenizer

LEVELS = ("university", "researcher", "seed")
SCOPES = ("all", "cross-region", "in-region")


@dataclass(frozen=True)
class EngineSettings:
    candidates: int = DEFAULT_CANDIDATES  # per retriever, per query
    dense_weight: float = 0.5
    # chosen by `bench need2univ` (README, "Benchmarks"): root mean square of the 10 best seeds
    aggregation: str = "rms10"
    min_shared_idf: float = 1.5  # a shared term shown to users must be rarer than this (BM25 idf)
    min_cross_share: float = 0.3  # of the first `cross_window` partners
    cross_window: int = 10
    cross_tolerance: float = 0.25  # an outside partner within 25% below the cut may be promoted
    max_text_chars: int = 20_000
    max_top_k: int = 50
    seeds_per_partner: int = 3
    shared_terms_shown: int = 8


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    term: str


@dataclass
class SeedHit:
    seed: Seed
    score: float  # fused, in [0, 1]
    similarity: float  # cosine of need and seed
    lexical: float  # BM25
    shared_terms: list[str]
    seed_spans: list[Span]


@dataclass
class Partner:
    level: str
    key: str
    name: str
    university: University
    researcher: Researcher | None
    prefecture: Prefecture | None
    region: str | None
    cross_region: bool | None  # None when the need has no prefecture
    distance_km: float | None
    score: float
    similarity: float  # best seed's cosine: an absolute measure, unlike the fused score
    seeds: list[SeedHit]
    shared_terms: list[str]
    promoted: bool = False

    @property
    def contact(self) -> Liaison | None:
        return self.university.liaison

    @property
    def explanation(self) -> str:
        parts = []
        if self.shared_terms:
            parts.append("共通する語: " + "、".join(self.shared_terms[:6]))
        parts.append(f"内容の近さ {self.similarity:.2f}")
        if self.seeds:
            parts.append(f"最も近いシーズ「{self.seeds[0].seed.title}」")
        if self.promoted:
            parts.append("地域外の有力候補として繰り上げ表示")
        return " / ".join(parts)


@dataclass
class MatchResult:
    text: str
    prefecture: Prefecture | None
    scope: str
    level: str
    partners: list[Partner]
    best_in_region: Partner | None
    need_spans: list[Span]  # shared terms highlighted in the need, over all partners shown
    query_terms: list[str] = field(default_factory=list)

    @property
    def cross_region_count(self) -> int:
        return sum(1 for p in self.partners if p.cross_region)

    @property
    def gain_over_local(self) -> float | None:
        """Score of the best partner shown minus that of the best in-region partner."""
        if not self.partners or self.prefecture is None:
            return None
        local = self.best_in_region.score if self.best_in_region else 0.0
        return self.partners[0].score - local


@dataclass
class NeedHit:
    need: Need
    score: float
    similarity: float
    shared_terms: list[str]
    cross_region: bool | None
    distance_km: float | None


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


ProgressCallback = Callable[[int, int], None]  # (done, total)


class Engine:
    def __init__(
        self,
        encoder,
        *,
        settings: EngineSettings | None = None,
        prefectures: PrefectureTable | None = None,
        tokenizer: JapaneseTokenizer | None = None,
        universities: Iterable[University] = (),
    ):
        self.encoder = encoder
        self.settings = settings or EngineSettings()
        self.prefectures = prefectures or default_prefectures()
        self.tokenizer = tokenizer or default_tokenizer()
        self.universities: dict[str, University] = {u.name: u for u in universities}
        self.seeds: dict[int, Seed] = {}
        self.needs: dict[int, Need] = {}
        self.seed_index = Collection(encoder.dim, encoder.name)
        self.need_index = Collection(encoder.dim, encoder.name)

    # ---- persistence -------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, encoder, *, seeds: Iterable[Seed] = (), needs: Iterable[Need] = (),
             progress: ProgressCallback | None = None, **kwargs) -> tuple["Engine", SyncReport, SyncReport]:
        """Load the saved indexes, bring them in line with the records, and save if anything changed.

        A missing, corrupt or outdated index directory is rebuilt from the records.
        """
        engine = cls(encoder, **kwargs)
        index_dir = Path(index_dir)
        for name in ("seeds", "needs"):
            try:
                loaded = Collection.load(index_dir / name, expect_model=encoder.name, expect_dim=encoder.dim)
            except IndexFormatError:
                continue  # rebuilt below from the records
            setattr(engine, f"{name[:-1]}_index", loaded)
        seed_report = engine.sync_seeds(seeds, progress=progress)
        need_report = engine.sync_needs(needs, progress=progress)
        if seed_report.changed or need_report.changed or not (index_dir / "seeds" / "config.json").exists():
            engine.save(index_dir)
        return engine, seed_report, need_report

    def save(self, index_dir: Path) -> None:
        self.seed_index.save(Path(index_dir) / "seeds")
        self.need_index.save(Path(index_dir) / "needs")

    # ---- keeping the indexes in line with the records -----------------
    def sync_seeds(self, seeds: Iterable[Seed], progress: ProgressCallback | None = None) -> SyncReport:
        """Make the seed index hold exactly `seeds`, re-embedding only new or changed ones."""
        seeds = list(seeds)
        for seed in seeds:
            self._learn_university(seed)
        self.seeds = {s.id: s for s in seeds}
        return _sync(self.seed_index, {s.id: s.text for s in seeds}, self._embed_passages, self.tokenizer, progress)

    def sync_needs(self, needs: Iterable[Need], progress: ProgressCallback | None = None) -> SyncReport:
        needs = list(needs)
        self.needs = {n.id: n for n in needs}
        return _sync(self.need_index, {n.id: n.text for n in needs}, self._embed_passages, self.tokenizer, progress)

    def upsert_seed(self, seed: Seed) -> None:
        self._learn_university(seed)
        self.seeds[seed.id] = seed
        _upsert(self.seed_index, {seed.id: seed.text}, self._embed_passages, self.tokenizer)

    def delete_seed(self, seed_id: int) -> None:
        if self.seeds.pop(seed_id, None) is None:
            raise NotFoundError("シーズ", seed_id)
        self.seed_index.delete([seed_id])

    def upsert_need(self, need: Need) -> None:
        self.needs[need.id] = need
        _upsert(self.need_index, {need.id: need.text}, self._embed_passages, self.tokenizer)

    def delete_need(self, need_id: int) -> None:
        if self.needs.pop(need_id, None) is None:
            raise NotFoundError("ニーズ", need_id)
        self.need_index.delete([need_id])

    def add_university(self, university: University) -> None:
        self.universities[university.name] = university

    # ---- need → partners ---------------------------------------------
    def match(
        self,
        text: str,
        prefecture: object = None,
        *,
        top_k: int = 10,
        level: str = "university",
        scope: str = "all",
        seed_filter: Callable[[Seed], bool] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> MatchResult:
        """Ranked university partners for a need, with explanations and the best in-region partner."""
        text = check_text(text, field="ニーズの本文", max_chars=self.settings.max_text_chars)
        self._check_options(top_k, level, scope)
        need_pref = self.prefectures.get(prefecture) if prefecture not in (None, "") else None
        if scope != "all" and need_pref is None:
            raise InvalidInputError("地域を絞り込むには、ニーズの都道府県を指定してください。")

        query_tokens = self.tokenizer.tokens(text)
        query_terms = [t.term for t in query_tokens]
        if query_vector is None:  # batch callers (benchmarks, reports) encode many needs at once
            query_vector = self.encoder.encode_queries([text])[0]

        # The unfiltered search fixes the score normalisation for every scope of this query.
        everything = hybrid_search(self.seed_index, query_vector, query_terms,
                                   candidates=self.settings.candidates, dense_weight=self.settings.dense_weight)
        bounds = (everything.dense_bounds, everything.lexical_bounds)

        def search_within(keep: Callable[[Seed], bool] | None) -> Candidates:
            if keep is None:
                return everything
            allowed = np.fromiter((s.id for s in self.seeds.values() if keep(s)), dtype=np.int64)
            return hybrid_search(self.seed_index, query_vector, query_terms, candidates=self.settings.candidates,
                                 allowed=allowed, bounds=bounds, dense_weight=self.settings.dense_weight)

        in_region = (lambda s: self._region_of_seed(s) == need_pref.region) if need_pref else None
        scope_filter = {"all": None, "in-region": in_region,
                        "cross-region": (lambda s: not in_region(s)) if in_region else None}[scope]
        main_filter = _both(scope_filter, seed_filter)
        found = search_within(main_filter)
        ranked, hits_by_key = self._rank(found, level, need_pref)
        if scope == "all" and need_pref is not None:
            ranked = ensure_cross_region(ranked, top_k, min_share=self.settings.min_cross_share,
                                         window=self.settings.cross_window, tolerance=self.settings.cross_tolerance)
        else:
            ranked = ranked[:top_k]
        query_term_set = set(query_terms)
        partners = [self._partner(r, level, hits_by_key[r.key], need_pref, query_term_set) for r in ranked]

        best_local = None
        if need_pref is not None:
            local = found if scope == "in-region" else search_within(_both(in_region, seed_filter))
            local_ranked, local_hits = self._rank(local, level, need_pref)
            if local_ranked:
                best_local = self._partner(local_ranked[0], level, local_hits[local_ranked[0].key], need_pref, query_term_set)

        shown_terms = {t for p in partners for t in p.shared_terms}
        need_spans = _spans(query_tokens, shown_terms)
        return MatchResult(text=text, prefecture=need_pref, scope=scope, level=level, partners=partners,
                           best_in_region=best_local, need_spans=need_spans, query_terms=query_terms)

    def match_need(self, need_id: int, **kwargs) -> MatchResult:
        need = self.needs.get(need_id)
        if need is None:
            raise NotFoundError("ニーズ", need_id)
        return self.match(need.text, need.prefecture_code, **kwargs)

    # ---- seed → needs ------------------------------------------------
    def needs_for_seed(self, seed_id: int, *, top_k: int = 10, include_confidential: bool = False,
                       need_filter: Callable[[Need], bool] | None = None) -> list[NeedHit]:
        """The needs a registered seed fits, best first."""
        seed = self.seeds.get(seed_id)
        if seed is None:
            raise NotFoundError("シーズ", seed_id)
        return self.needs_for_text(seed.text, seed.prefecture_code, top_k=top_k,
                                   include_confidential=include_confidential, need_filter=need_filter)

    def needs_for_text(self, text: str, prefecture: object = None, *, top_k: int = 10,
                       include_confidential: bool = False,
                       need_filter: Callable[[Need], bool] | None = None,
                       query_vector: np.ndarray | None = None) -> list[NeedHit]:
        text = check_text(text, field="シーズの本文", max_chars=self.settings.max_text_chars)
        self._check_options(top_k, "seed", "all")
        seed_pref = self.prefectures.get(prefecture) if prefecture not in (None, "") else None
        terms = self.tokenizer.terms(text)
        vector = self.encoder.encode_queries([text])[0] if query_vector is None else query_vector
        visible = _both(None if include_confidential else (lambda n: n.visibility != "confidential"), need_filter)
        allowed = None if visible is None else np.fromiter(
            (n.id for n in self.needs.values() if visible(n)), dtype=np.int64)
        found = hybrid_search(self.need_index, vector, terms, candidates=self.settings.candidates,
                              allowed=allowed, dense_weight=self.settings.dense_weight).top(top_k)
        term_set = set(terms)
        hits = []
        for need_id, score, similarity in zip(found.ids.tolist(), found.fused.tolist(), found.dense.tolist()):
            need = self.needs[need_id]
            need_pref = self.prefectures.get(need.prefecture_code) if need.prefecture_code else None
            cross, distance = _relation(seed_pref, need_pref, self.prefectures)
            shared = self._shared_terms(term_set, self.need_index, need_id)
            hits.append(NeedHit(need, score, similarity, shared, cross, distance))
        return hits

    # ---- internals ---------------------------------------------------
    def _check_options(self, top_k: int, level: str, scope: str) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= self.settings.max_top_k:
            raise InvalidInputError(f"表示件数（top_k）は1〜{self.settings.max_top_k}の整数で指定してください。")
        if level not in LEVELS:
            raise InvalidInputError("表示単位（level）は university・researcher・seed のいずれかです。")
        if scope not in SCOPES:
            raise InvalidInputError("範囲（scope）は all・cross-region・in-region のいずれかです。")

    def _embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_passages(texts)

    def _learn_university(self, seed: Seed) -> None:
        if seed.university not in self.universities:
            self.universities[seed.university] = University(name=seed.university, prefecture_code=seed.prefecture_code)

    def _region_of_seed(self, seed: Seed) -> str | None:
        code = seed.prefecture_code or self.universities[seed.university].prefecture_code
        return self.prefectures.get(code).region if code else None

    def _partner_key(self, seed: Seed, level: str) -> str | None:
        if level == "university":
            return seed.university
        if level == "researcher":
            return seed.researcher.key if seed.researcher else None
        return str(seed.id)

    def _rank(self, found: Candidates, level: str, need_pref: Prefecture | None):
        """Group seed candidates into partners of `level`, scored by the chosen aggregation."""
        groups: dict[str, list[float]] = defaultdict(list)
        hits_by_key: dict[str, list[tuple[Seed, float, float, float]]] = defaultdict(list)
        for seed_id, fused, dense, lexical in zip(found.ids.tolist(), found.fused.tolist(),
                                                  found.dense.tolist(), found.lexical.tolist()):
            seed = self.seeds[seed_id]
            key = self._partner_key(seed, level)
            if key is None:
                continue
            groups[key].append(fused)
            hits_by_key[key].append((seed, fused, dense, lexical))
        scores = aggregate(groups, self.settings.aggregation)
        ranked = []
        for key, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            region = self._region_of_seed(hits_by_key[key][0][0])
            cross = bool(need_pref and region and region != need_pref.region)
            ranked.append(Ranked(key, score, cross))
        return ranked, hits_by_key

    def _partner(self, ranked: Ranked, level: str, hits, need_pref: Prefecture | None, query_terms: set[str]) -> Partner:
        first = hits[0][0]
        university = self.universities[first.university]
        code = first.prefecture_code if level == "seed" else (university.prefecture_code or first.prefecture_code)
        pref = self.prefectures.get(code) if code else None
        cross, distance = _relation(need_pref, pref, self.prefectures)
        seed_hits = []
        for seed, fused, dense, lexical in hits[: self.settings.seeds_per_partner]:
            shared = self._shared_terms(query_terms, self.seed_index, seed.id)
            seed_spans = _spans(self.tokenizer.tokens(seed.text), set(shared))
            seed_hits.append(SeedHit(seed, fused, dense, lexical, shared, seed_spans))
        shared_all: list[str] = []
        for hit in seed_hits:
            shared_all.extend(t for t in hit.shared_terms if t not in shared_all)
        name = {"university": university.name,
                "researcher": f"{first.researcher.name}（{university.name}）" if first.researcher else university.name,
                "seed": first.title}[level]
        return Partner(
            level=level, key=ranked.key, name=name, university=university,
            researcher=first.researcher if level != "university" else None,
            prefecture=pref, region=pref.region if pref else None, cross_region=cross, distance_km=distance,
            score=ranked.score, similarity=max(h.similarity for h in seed_hits), seeds=seed_hits,
            shared_terms=shared_all[: self.settings.shared_terms_shown], promoted=ranked.promoted,
        )

    def _shared_terms(self, query_terms: set[str], collection: Collection, item_id: int) -> list[str]:
        """Terms the query shares with an item, most telling (highest idf) first."""
        doc_terms = collection.lexical.terms_of(item_id)
        shared = [(t, collection.lexical.idf(t)) for t in query_terms if t in doc_terms and _telling(t)]
        shared = [(t, idf) for t, idf in shared if idf >= self.settings.min_shared_idf]
        shared.sort(key=lambda tw: (-tw[1], tw[0]))
        return [t for t, _ in shared[: self.settings.shared_terms_shown]]


# ---- module helpers ----------------------------------------------------
def _both(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return lambda x: a(x) and b(x)


def _telling(term: str) -> bool:
    """A term worth showing as a reason: not a bare number, not a lone ASCII letter."""
    return not term.replace(".", "").isdigit() and not (term.isascii() and len(term) <= 1)


def _relation(a: Prefecture | None, b: Prefecture | None, prefectures: PrefectureTable):
    """(crosses regions?, distance between capitals in km), or None where a prefecture is unknown."""
    if a is None or b is None:
        return None, None
    return a.region != b.region, round(prefectures.distance_km(a, b), 1)


def _spans(tokens: Sequence[Token], terms: set[str]) -> list[Span]:
    """Non-overlapping spans of the tokens whose term is in `terms` (longest first at a position)."""
    spans: list[Span] = []
    last_end = -1
    for token in sorted(tokens, key=lambda t: (t.start, -(t.end - t.start))):
        if token.term in terms and token.start >= last_end:
            spans.append(Span(token.start, token.end, token.term))
            last_end = token.end
    return spans


def _sync(collection: Collection, texts: dict[int, str], embed, tokenizer: JapaneseTokenizer,
          progress: ProgressCallback | None, batch: int = 64) -> SyncReport:
    report = SyncReport()
    stale = {}
    for item_id, text in texts.items():
        print_ = fingerprint(text, collection.model_name)
        current = collection.fingerprints.get(item_id)
        if current == print_:
            report.unchanged += 1
        else:
            stale[item_id] = text
            if current is None:
                report.added += 1
            else:
                report.updated += 1
    extra = collection.ids() - set(texts)
    report.removed = collection.delete(sorted(extra)) if extra else 0
    items = list(stale.items())
    for start in range(0, len(items), batch):
        _upsert(collection, dict(items[start:start + batch]), embed, tokenizer)
        if progress:
            progress(min(start + batch, len(items)), len(items))
    return report


def _upsert(collection: Collection, texts: dict[int, str], embed, tokenizer: JapaneseTokenizer) -> None:
    ids = list(texts)
    vectors = embed([texts[i] for i in ids])
    terms = [tokenizer.terms(texts[i]) for i in ids]
    prints = [fingerprint(texts[i], collection.model_name) for i in ids]
    collection.upsert(ids, vectors, terms, prints)
