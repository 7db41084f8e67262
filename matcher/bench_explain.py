"""`matcher bench explain`: are the shared terms on a results page the user's own words, and do they matter?

Over every need of a corpus folder (the layout of corpora/: universities/, seeds/, needs.jsonl, and
optionally vectors/), each need is matched as the results page matches it, and every term the page would
show is checked:

- **shown terms**: each entry of a 共通する語 list (a partner's, in the need's words; a seed's, in the seed's
  words) and each highlighted span. `verbatim` is the share that appears character for character in the
  text it is shown with (target 1.0): a lemma such as 赤藻屑 for アカモク fails it.
- **highlighted terms**: the same entries, each checked against the display stop list and the filler-word
  check (explain_terms.is_filler: stop list, bare numbers, numerals and adverb-like or counter nouns).
  `rejected` is the share those checks reject (target 0.0).

A shown entry is judged by the word it stands for in its text: the token at a span, or the tokens that
the entry is the surface of; an entry that is no surface of its text (a lemma) is judged by the tokens
whose lemma it is. The figures are JSON; `examples` lists the most frequent failures of each check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import load_corpus
from .demo_vectors import read_all
from .embed import TextEncoder
from .engine import Engine
from .explain_terms import is_filler
from .results import MatchResult, Partner
from .text import JapaneseTokenizer, Token

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Tally:
    """Counts of one check over every shown entry, with the entries that failed it."""

    total: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, entry: str, ok: bool) -> None:
        self.total += 1
        if not ok:
            self.failed += 1
            self.failures[entry] += 1

    def share_passed(self) -> float:
        return round(1 - self.failed / self.total, 4) if self.total else 1.0

    def figures(self, counted: str, share: str) -> dict[str, Any]:
        """The tally as JSON, its count of failures named `counted` and their share `share`."""
        return {"total": self.total, counted: self.failed,
                share: round(self.failed / self.total, 4) if self.total else 0.0,
                "examples": [f"{entry} ({n})" for entry, n in self.failures.most_common(12)]}


class Checker:
    """Checks shown entries against the texts they are shown with (each text tokenised once)."""

    def __init__(self, tokenizer: JapaneseTokenizer) -> None:
        self.tokenizer = tokenizer
        self.tokens: dict[str, list[Token]] = {}
        self.not_verbatim = Tally()
        self.rejected = Tally()
        self.list_lengths: list[int] = []

    def _tokens(self, text: str) -> list[Token]:
        if text not in self.tokens:
            self.tokens[text] = self.tokenizer.tokens(text)
        return self.tokens[text]

    def listed(self, entries: Sequence[str], text: str) -> None:
        """A 共通する語 list shown with `text`."""
        self.list_lengths.append(len(entries))
        tokens = self._tokens(text)
        for entry in entries:
            self.not_verbatim.add(entry, entry in text)
            words = [t for t in tokens if t.surface == entry] or [t for t in tokens if t.term == entry]
            self.rejected.add(entry, not any(is_filler(t) for t in words))

    def marked(self, spans: Sequence[Any], text: str) -> None:
        """Highlighted spans (start, end) of `text`, each judged by the token it covers."""
        tokens = self._tokens(text)
        for span in spans:
            entry = text[span.start:span.end]
            self.not_verbatim.add(entry, True)  # a span is a slice of its text by construction
            words = [t for t in tokens if (t.start, t.end) == (span.start, span.end)]
            self.rejected.add(entry, not any(is_filler(t) for t in words))

    def partner(self, partner: Partner, need_text: str) -> None:
        self.listed(partner.shared_terms, need_text)
        for hit in partner.seeds:
            self.listed(hit.shared_terms, hit.seed.text)
            self.marked(hit.seed_spans, hit.seed.text)

    def result(self, result: MatchResult) -> None:
        self.marked(result.need_spans, result.text)
        for partner in [*result.partners, *([result.best_in_region] if result.best_in_region else [])]:
            self.partner(partner, result.text)


def _known_vectors(corpus_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """The shipped passage vectors of the corpus folder for this model (none where it has no vectors/)."""
    found: dict[str, np.ndarray] = {}
    for demo in read_all(corpus_dir / "vectors"):
        if demo.model_id == model_id:
            found.update(demo.as_dict())
    return found


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run(corpus_dir: Path, encoder: TextEncoder, *, top_k: int = 10, progress: Progress | None = None,
        engine: Engine | None = None) -> dict[str, Any]:
    """The figures for every need of `corpus_dir`, matched as the results page does (`top_k` partners)."""
    corpus = load_corpus(corpus_dir)
    if engine is None:
        known = _known_vectors(corpus_dir, encoder.name)
        engine = Engine(encoder, universities=corpus.universities.values())
        engine.sync_seeds(corpus.seeds, known=lambda prints: {p: known[p] for p in prints if p in known})
    texts = [n.text for n in corpus.needs]
    vectors: list[np.ndarray] = []
    for batch in _batches(texts, 32):
        vectors.extend(encoder.encode_queries(list(batch)))
        if progress:
            progress("ニーズの埋め込み", len(vectors), len(texts))
    checker = Checker(engine.tokenizer)
    seeds_listed: Counter[int] = Counter()
    for done, (need, vector) in enumerate(zip(corpus.needs, vectors, strict=True), 1):
        result = engine.match(need.text, need.prefecture_code, top_k=top_k, query_vector=vector)
        checker.result(result)
        seeds_listed.update(len(p.seeds) for p in result.partners)
        if progress:
            progress("照合と確認", done, len(texts))
    lengths = checker.list_lengths
    return {
        "corpus": str(corpus_dir),
        "needs": len(corpus.needs),
        "seeds": len(corpus.seeds),
        "shown_terms": {**checker.not_verbatim.figures("not_verbatim", "share_not_verbatim"),
                        "share_verbatim": checker.not_verbatim.share_passed()},
        "highlighted_terms": checker.rejected.figures("rejected", "share_rejected"),
        "terms_per_list": {"mean": round(float(np.mean(lengths)), 2) if lengths else 0.0,
                           "max": max(lengths, default=0)},
        "seeds_per_partner": {str(k): v for k, v in sorted(seeds_listed.items())},
    }
