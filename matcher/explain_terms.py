"""Which shared terms explain a match, and how each text shows them.

Terms are *matched* by lemma (BM25 indexes UniDic lemma keys, so 稲わら in a need meets 稲藁 in a seed) but
*shown* in each text's own characters: the surface of the term's first occurrence in that text, which is
`text[start:end]` of a token, so it is verbatim there (UniDic's lemma may be a spelling the writer never
used: アカモク → 赤藻屑, 駿河 → スルガ, タンパク → 蛋白).

Only the terms that carried the match are shown:

1. a term must be *explainable* in both texts: not on the display stop list (corpora/master/stopwords_ja.txt,
   generic words such as 県, 事業, 作る), not a bare number or a lone letter, and not a word that UniDic
   classes as a numeral or as a noun that works as an adverb or a counter (年, 時期, 一部, 時間);
2. its idf in the collection searched must reach a floor: a word in a large share of the items explains
   nothing (EngineSettings.min_shared_idf);
3. the rest are ranked by their contribution to the BM25 score (BM25Index.term_weights), best first;
4. a term written inside a longer shared term is counted as part of it (耐震 and 補強 in 耐震補強);
5. at most `limit` are kept (EngineSettings.shared_terms_shown, 8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from .domain_terms import display_stop_terms
from .results import Span
from .text import RECENT_TEXTS, JapaneseTokenizer, Token

# UniDic pos2/pos3 of words that fill a sentence rather than name its subject: numerals (三, 万), and
# common nouns that UniDic marks as usable as an adverb (年, 時期, 一部, 過去) or as a counter (時間, 割, 台).
FILLER_POS = frozenset({"数詞", "副詞可能", "助数詞可能"})

Weights = dict[str, float]  # lemma key → contribution to the BM25 score, best first


def telling(term: str) -> bool:
    """A term worth showing as a reason: not a bare number, not a lone ASCII letter."""
    return not term.replace(".", "").isdigit() and not (term.isascii() and len(term) <= 1)


def is_filler(token: Token, stop: AbstractSet[str] | None = None) -> bool:
    """Whether a word may match but never explains a match (the rules 1 of the module's docstring)."""
    stop = display_stop_terms() if stop is None else stop
    if token.term in stop or not telling(token.term):
        return True
    return any(part in FILLER_POS for part in token.pos_detail.split("-"))


def explainable(tokens: Iterable[Token], stop: AbstractSet[str] | None = None) -> frozenset[str]:
    """The terms of a text that may be shown: those of its words none of which is filler."""
    tokens = list(tokens)
    filler = {t.term for t in tokens if is_filler(t, stop)}
    return frozenset(t.term for t in tokens) - filler


def surfaces(tokens: Iterable[Token]) -> dict[str, str]:
    """Each term's surface at its first occurrence: how the text itself writes it."""
    first: dict[str, str] = {}
    for token in sorted(tokens, key=lambda t: (t.start, -t.end)):
        first.setdefault(token.term, token.surface)
    return first


def ranked(weights: Mapping[str, float], allowed: AbstractSet[str], idf: Callable[[str], float],
           min_idf: float) -> Weights:
    """The allowed terms at or above the idf floor, by contribution, best first (ties by term, for stable pages)."""
    kept = [(t, w) for t, w in weights.items() if t in allowed and idf(t) >= min_idf]
    kept.sort(key=lambda tw: (-tw[1], tw[0]))
    return dict(kept)


def summed(weight_maps: Iterable[Mapping[str, float]]) -> Weights:
    """Contributions added up over several items (a partner's seeds, the partners of a page), best first."""
    total: dict[str, float] = {}
    for weights in weight_maps:
        for term, weight in weights.items():
            total[term] = total.get(term, 0.0) + weight
    return dict(sorted(total.items(), key=lambda tw: (-tw[1], tw[0])))


@dataclass(frozen=True, eq=False)
class TextTerms:
    """A text's tokens with what its explanations read of them: its explainable terms, each term's surface
    and the places it is written. Derived once per text: a seed shown by many matches is explained from
    these (`TextTermsCache`), not from its tokens again (at 10^5 seeds that was a tenth of a match)."""

    tokens: Sequence[Token]
    explainable: frozenset[str]
    surfaces: dict[str, str]
    places: dict[str, list[tuple[int, int]]]

    @classmethod
    def of(cls, tokens: Sequence[Token], stop: AbstractSet[str] | None = None) -> TextTerms:
        places: dict[str, list[tuple[int, int]]] = {}
        for token in tokens:
            places.setdefault(token.term, []).append((token.start, token.end))
        return cls(tokens, explainable(tokens, stop), surfaces(tokens), places)


class TextTermsCache:
    """`TextTerms` of the last `size` texts explained, by text (thread-safe: functools.lru_cache)."""

    def __init__(self, tokenizer: JapaneseTokenizer, stop: frozenset[str], size: int = RECENT_TEXTS):
        self.stop = stop
        self._of: Callable[[str], TextTerms] = lru_cache(maxsize=size)(
            lambda text: TextTerms.of(tokenizer.recent_tokens(text), stop))

    def __call__(self, text: str) -> TextTerms:
        return self._of(text)


def shown(weights: Mapping[str, float], text: TextTerms, limit: int) -> Weights:
    """The best `limit` terms of `weights` that occur in `text`. A term written inside a longer one (耐震 and
    補強 beside 耐震補強) is counted as part of it rather than listed again beside it."""
    written = text.surfaces
    folded = {t: w for t, w in weights.items() if t in text.places}
    # shortest first, so that a part passes its weight up before its host passes on what it holds
    for term in sorted(folded, key=lambda t: (len(written[t]), t)):
        part = written[term]
        hosts = [u for u in folded if len(written[u]) > len(part) and part in written[u]]
        if hosts:
            folded[max(hosts, key=lambda u: (len(written[u]), u))] += folded.pop(term)
    best = sorted(folded.items(), key=lambda tw: (-tw[1], tw[0]))
    return dict(best[:limit])


def spans(tokens: Sequence[Token], terms: AbstractSet[str]) -> list[Span]:
    """Non-overlapping spans of the tokens whose term is in `terms` (longest first at a position)."""
    found: list[Span] = []
    last_end = -1
    for token in sorted(tokens, key=lambda t: (t.start, -(t.end - t.start))):
        if token.term in terms and token.start >= last_end:
            found.append(Span(token.start, token.end, token.term))
            last_end = token.end
    return found

