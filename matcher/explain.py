"""The evidence shown beside a score: shared terms, where they occur, and where a partner is.

None of this changes a ranking; it explains one. Kept apart from rank.py so
that scoring can be read (and changed) without the display rules in the way.
`Explainer` turns what rank.py ranked into the results of results.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .lexical import BM25Index
from .rank import Ranked, SeedScore
from .records import Need, Seed, University
from .regions import Prefecture, PrefectureTable
from .results import NeedHit, Partner, SeedHit, Span
from .text import JapaneseTokenizer, Token


@dataclass(frozen=True)
class Explainer:
    """The results of one query over one index, each with its evidence.

    The engine makes one per query, from its settings of the moment.
    """

    query_terms: frozenset[str]
    place: Prefecture | None  # of the query (the need's prefecture, or the seed's); None where unknown
    lexical: BM25Index  # of the index searched: shared terms are looked up there
    tokenizer: JapaneseTokenizer
    prefectures: PrefectureTable
    universities: Mapping[str, University]
    min_shared_idf: float
    shared_terms_shown: int
    seeds_per_partner: int

    def partner(self, ranked: Ranked, level: str, scores: Sequence[SeedScore]) -> Partner:
        """A ranked partner with its best seeds (`scores`, best first), place and distance."""
        first = scores[0].seed
        university = self.universities[first.university]
        # a seed is where it says; a researcher or a university is where the university is, where known
        code = first.prefecture_code if level == "seed" else university.prefecture_code or first.prefecture_code
        pref = self.prefectures.get(code) if code else None
        cross, distance = relation(self.place, pref, self.prefectures)
        seed_hits = [self.seed_hit(s) for s in scores[: self.seeds_per_partner]]
        return Partner(
            level=level, key=ranked.key, name=partner_name(level, first, university), university=university,
            researcher=first.researcher if level != "university" else None,
            prefecture=pref, region=pref.region if pref else None, cross_region=cross, distance_km=distance,
            score=ranked.score, similarity=max(h.similarity for h in seed_hits), seeds=seed_hits,
            shared_terms=merged_terms((h.shared_terms for h in seed_hits), self.shared_terms_shown),
            promoted=ranked.promoted,
        )

    def seed_hit(self, scored: SeedScore) -> SeedHit:
        shared = self.shared_terms(scored.seed.id)
        highlights = spans(self.tokenizer.tokens(scored.seed.text), set(shared))
        return SeedHit(scored.seed, scored.fused, scored.dense, scored.lexical, shared, highlights)

    def need_hit(self, need: Need, score: float, similarity: float) -> NeedHit:
        pref = self.prefectures.get(need.prefecture_code) if need.prefecture_code else None
        cross, distance = relation(self.place, pref, self.prefectures)
        return NeedHit(need, score, similarity, self.shared_terms(need.id), cross, distance)

    def shared_terms(self, item_id: int) -> list[str]:
        return shared_terms(self.query_terms, self.lexical, item_id, min_idf=self.min_shared_idf,
                            limit=self.shared_terms_shown)


def partner_name(level: str, first: Seed, university: University) -> str:
    """What a partner is called: the university, the researcher with the university, or the best seed's title."""
    if level == "university":
        return university.name
    if level == "researcher":
        return f"{first.researcher.name}（{university.name}）" if first.researcher else university.name
    return first.title


def telling(term: str) -> bool:
    """A term worth showing as a reason: not a bare number, not a lone ASCII letter."""
    return not term.replace(".", "").isdigit() and not (term.isascii() and len(term) <= 1)


def shared_terms(query_terms: Iterable[str], lexical: BM25Index, item_id: int, *, min_idf: float,
                 limit: int) -> list[str]:
    """Terms the query shares with an item, most telling (highest idf) first.

    Common words (idf below `min_idf`) are left out: they are shared by so many
    items that they explain nothing.
    """
    doc_terms = lexical.terms_of(item_id)
    weighted = [(t, lexical.idf(t)) for t in query_terms if t in doc_terms and telling(t)]
    weighted = [(t, idf) for t, idf in weighted if idf >= min_idf]
    weighted.sort(key=lambda tw: (-tw[1], tw[0]))
    return [t for t, _ in weighted[:limit]]


def merged_terms(term_lists: Iterable[Sequence[str]], limit: int) -> list[str]:
    """The terms of several lists, each once, in the order first seen (a partner's terms over its seeds)."""
    merged = dict.fromkeys(t for terms in term_lists for t in terms)
    return list(merged)[:limit]


def spans(tokens: Sequence[Token], terms: set[str]) -> list[Span]:
    """Non-overlapping spans of the tokens whose term is in `terms` (longest first at a position)."""
    found: list[Span] = []
    last_end = -1
    for token in sorted(tokens, key=lambda t: (t.start, -(t.end - t.start))):
        if token.term in terms and token.start >= last_end:
            found.append(Span(token.start, token.end, token.term))
            last_end = token.end
    return found


def relation(a: Prefecture | None, b: Prefecture | None,
             prefectures: PrefectureTable) -> tuple[bool | None, float | None]:
    """(crosses regions?, distance between capitals in km), or (None, None) where a prefecture is unknown."""
    if a is None or b is None:
        return None, None
    return a.region != b.region, round(prefectures.distance_km(a, b), 1)
