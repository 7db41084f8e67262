"""The evidence shown beside a score: shared terms, where they occur, and where a partner is.

None of this changes a ranking; it explains one. Kept apart from rank.py so
that scoring can be read (and changed) without the display rules in the way.
`Explainer` turns what rank.py ranked into the results of results.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .domain_terms import display_stop_terms
from .explain_terms import TextTerms, Weights, ranked, shown, spans, summed
from .lexical import BM25Index
from .places import Distance, Location, Places, distance_between
from .rank import Ranked, SeedScore
from .records import Need, Seed, University
from .results import CLOSE_FLOOR, NeedHit, Partner, SeedHit, Span
from .text import JapaneseTokenizer, Token


@dataclass(frozen=True)
class Explainer:
    """The results of one query over one index, each with its evidence.

    The engine makes one per query, from its settings of the moment. Shared terms are chosen as
    explain_terms.py says: matched by lemma, ranked by their part of the BM25 score, shown in each text's
    own words (the query's words for a partner, the seed's in a seed, the need's in a need).
    """

    query_tokens: Sequence[Token]
    place: Location | None  # of the query (the need's, or the seed's); None where its prefecture is unknown
    lexical: BM25Index  # of the index searched: shared terms are looked up there
    tokenizer: JapaneseTokenizer
    places: Places
    universities: Mapping[str, University]
    min_shared_idf: float
    shared_terms_shown: int
    seeds_per_partner: int
    seed_floor: float = 0.0  # a partner lists a seed whose fused score is at least this share of its best's
    stop: frozenset[str] = field(default_factory=display_stop_terms)
    # the engine's cache of explained texts (explain_terms.TextTermsCache, with the same `stop`); None: derived
    # each time
    texts: Callable[[str], TextTerms] | None = None

    @cached_property
    def query_terms(self) -> frozenset[str]:
        return frozenset(t.term for t in self.query_tokens)

    @cached_property
    def query_text(self) -> TextTerms:
        return TextTerms.of(self.query_tokens, self.stop)

    def _text(self, text: str) -> TextTerms:
        if self.texts is not None:
            return self.texts(text)
        return TextTerms.of(self.tokenizer.recent_tokens(text), self.stop)

    def partner(self, ranked: Ranked, level: str, scores: Sequence[SeedScore]) -> Partner:
        """A ranked partner with its best seeds (`scores`, best first), place and distance."""
        first = scores[0].seed
        university = self.universities[first.university]
        # a seed is where it says; a researcher or a university is where the university is, where known
        code = first.prefecture_code if level == "seed" else university.prefecture_code or first.prefecture_code
        where = self._campus(university, code)
        seed_hits = [self.seed_hit(s) for s in listed_seeds(scores, self.seeds_per_partner, self.seed_floor)]
        weights = shown(summed(h.term_weights for h in seed_hits), self.query_text, self.shared_terms_shown)
        return Partner(
            level=level, key=ranked.key, name=partner_name(level, first, university), university=university,
            researcher=first.researcher if level != "university" else None,
            score=ranked.score, similarity=max(h.similarity for h in seed_hits), seeds=seed_hits,
            shared_terms=[self.query_text.surfaces[t] for t in weights], promoted=ranked.promoted, term_weights=weights,
            **self._place_fields(where),
            close_seeds=sum(1 for s in scores if s.dense >= CLOSE_FLOOR), seed_count=ranked.seed_count,
        )

    def _place_fields(self, where: Location | None) -> dict[str, Any]:
        """A partner's place, region, region crossing and distance from the query, as Partner's fields."""
        cross, distance = relation(self.place, where, self.places)
        return {"prefecture": where.prefecture if where else None,
                "region": where.prefecture.region if where else None, "cross_region": cross,
                "distance_km": distance.km if distance else None,
                "distance_basis": distance.basis.value if distance else None,
                "municipality": where.municipality.name if where and where.municipality else None}

    def _campus(self, university: University, prefecture_code: str | None) -> Location | None:
        """Where a partner is: its university's main campus, unless the partner (a seed) names another
        prefecture, which then places it by prefecture alone."""
        if not prefecture_code:
            return None
        campus = self.places.campus(university.name, university.prefecture_code, university.municipality_code)
        if campus is not None and campus.prefecture.code == prefecture_code:
            return campus
        return self.places.locate(prefecture_code)

    def seed_hit(self, scored: SeedScore) -> SeedHit:
        text = self._text(scored.seed.text)
        weights = self._weights(scored.seed.id, text)
        terms = shown(weights, text, self.shared_terms_shown)
        return SeedHit(scored.seed, scored.fused, scored.dense, scored.lexical, [text.surfaces[t] for t in terms],
                       spans(text.tokens, set(terms)), weights)

    def need_hit(self, need: Need, score: float, similarity: float) -> NeedHit:
        cross, distance = relation(self.place, self.places.locate(need.prefecture_code, need.municipality_code),
                                   self.places)
        text = self._text(need.text)
        terms = shown(self._weights(need.id, text), text, self.shared_terms_shown)
        return NeedHit(need, score, similarity, [text.surfaces[t] for t in terms], cross,
                       distance.km if distance else None, distance.basis.value if distance else None)

    def need_spans(self, partners: Sequence[Partner]) -> list[Span]:
        """Where the query text shows the terms that carried the partners shown, the best few over them all."""
        weights = shown(summed(p.term_weights for p in partners), self.query_text, self.shared_terms_shown)
        return spans(self.query_tokens, set(weights))

    def _weights(self, item_id: int, text: TextTerms) -> Weights:
        """The shared terms explainable in both texts, above the idf floor, by their part of the BM25 score."""
        allowed = self.query_text.explainable & text.explainable
        return ranked(self.lexical.term_weights(self.query_terms, item_id), allowed, self.lexical.idf,
                      self.min_shared_idf)


def listed_seeds(scores: Sequence[SeedScore], most: int, floor: float) -> list[SeedScore]:
    """A partner's seeds to list: its best (always), then those of the next `most` − 1 whose fused score is at
    least `floor` × the best's; an unrelated seed of a partner that has one strong seed stays out."""
    best = scores[0].fused
    return [scores[0], *(s for s in scores[1:most] if s.fused >= floor * best)]


def partner_name(level: str, first: Seed, university: University) -> str:
    """What a partner is called: the university, the researcher with the university, or the best seed's title."""
    if level == "university":
        return university.name
    if level == "researcher":
        return f"{first.researcher.name}（{university.name}）" if first.researcher else university.name
    return first.title


def relation(a: Location | None, b: Location | None, places: Places) -> tuple[bool | None, Distance | None]:
    """(crosses regions?, how far apart), or (None, None) where a prefecture is unknown."""
    if a is None or b is None:
        return None, None
    return a.prefecture.region != b.prefecture.region, distance_between(a, b, places.prefectures)
