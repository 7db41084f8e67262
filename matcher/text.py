"""Japanese text: normalisation for matching keys, and tokenisation into content-word lemmas.

The original text is always kept for display. Normalisation builds matching
keys only (NFKC plus a few foldings), and it tracks where every normalised
character came from, so that a shared term can be highlighted in the text the
user wrote.

Tokenisation uses fugashi with unidic-lite (1.0.8, UniDic 2.1.2). The tagger
is built once per process because building it costs ~50 ms and a dictionary load.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from .domain_terms import COMPOUNDS, LEMMA_FIXES, STOP_LEMMAS
from .errors import EmptyTextError, TextTooLongError

# NFKC leaves these alone; they are noise for matching.
_CHAR_FOLDS = {
    "\u301c": "~",  # 〜 wave dash
    "\u2212": "-",  # − minus sign
    "\u2010": "-",  # ‐ hyphen
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",  # BOM
}
_HALFWIDTH_SOUND_MARKS = "\uff9e\uff9f"  # ﾞ ﾟ join the preceding half-width kana under NFKC

# Parts of speech that carry content (UniDic pos1), and the pos2 values inside them to drop.
_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞"}
_DROP_POS2 = {"非自立可能", "助動詞語幹"}

_COMPOUNDS_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _parts, _compound in COMPOUNDS.items():
    _COMPOUNDS_BY_FIRST.setdefault(_parts[0], []).append((_parts, _compound))

_GLOSS = re.compile(r"-[A-Za-z][A-Za-z_,\- ]*$")  # UniDic lemma glosses: シー-sea, ゲノム-Genom
_SURROGATE = re.compile("[\ud800-\udfff]")
_ONLY_KANA_OR_SYMBOL_1 = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]$")


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC-fold `text` for matching, and map each output character to its source index.

    NFKC is applied chunk by chunk (a character plus any combining marks that
    follow it), which equals whole-string NFKC for the texts we meet while
    keeping a faithful offset map.
    """
    out: list[str] = []
    origin: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        j = i + 1
        while j < n and _joins_previous(text[j]):
            j += 1
        folded = _fold_chunk(text[i:j])
        out.append(folded)
        origin.extend([i] * len(folded))
        i = j
    return "".join(out), origin


@lru_cache(maxsize=1 << 16)
def _fold_chunk(chunk: str) -> str:
    """One chunk's matching form; cached, because texts repeat a small alphabet."""
    folded = _CHAR_FOLDS.get(chunk)
    if folded is None:
        folded = "".join(_CHAR_FOLDS.get(c, c) for c in unicodedata.normalize("NFKC", chunk))
    # A lone surrogate is half of a character that never arrived: no text to match, and MeCab cannot take it.
    folded = _SURROGATE.sub(" ", folded)
    return " " if folded.isspace() else folded


def normalize(text: str) -> str:
    """The matching key of a text: NFKC, foldings, case-folded, whitespace collapsed."""
    folded, _ = normalize_with_offsets(text)
    return re.sub(r"\s+", " ", folded).strip().lower()


def term_key(lemma: str) -> str:
    """The key a lemma is indexed under."""
    return _GLOSS.sub("", unicodedata.normalize("NFKC", lemma)).lower()


@dataclass(frozen=True)
class Token:
    """A content word: its key for matching, and where it sits in the original text.

    `term` is the lemma key that BM25 matches on (稲わら and 稲藁 share 稲藁); `surface` is the text's own
    characters, `text[start:end]`, which is what an explanation shows (the lemma may be a spelling the
    writer never used: アカモク's lemma is 赤藻屑).
    """

    term: str
    surface: str
    pos: str  # UniDic pos1 (名詞, 動詞, …), or 複合語 for a domain compound
    start: int  # offsets into the original (un-normalised) text
    end: int
    pos_detail: str = ""  # UniDic pos2 and pos3 joined by "-" (普通名詞-副詞可能, 数詞, 固有名詞-地名)


class _Word(NamedTuple):
    """One word as MeCab cut it, with offsets into the normalised text."""

    key: str
    pos1: str
    pos2: str
    pos3: str
    start: int
    end: int


RECENT_TEXTS = 8192  # about 4 MB of tokens: the seeds shown by the last few hundred matches


class JapaneseTokenizer:
    """Content-word lemmas of Japanese text, with the domain corrections applied."""

    def __init__(self) -> None:
        import fugashi
        import unidic_lite

        self._tagger = fugashi.Tagger(f"-d {unidic_lite.DICDIR}")
        # MeCab's tagger is not re-entrant; the API may call us from a thread pool.
        self._lock = threading.Lock()
        # The explanations tokenise each shown seed's text again on every match; popular seeds recur.
        self._recent: Callable[[str], tuple[Token, ...]] = lru_cache(maxsize=RECENT_TEXTS)(
            lambda text: tuple(self.tokens(text)))

    def recent_tokens(self, text: str) -> tuple[Token, ...]:
        """`tokens`, remembered for the last RECENT_TEXTS texts (read-only: a tuple shared by callers)."""
        return self._recent(text)

    def tokens(self, text: str) -> list[Token]:
        """The content words and domain compounds of `text`, in text order, with offsets into `text` itself."""
        normalized, origin = normalize_with_offsets(text)
        words = self._words(normalized)

        def token(term: str, pos: str, start: int, end: int, detail: str = "") -> Token:
            s, e = _original_span(text, origin, start, end)
            return Token(term, text[s:e], pos, s, e, detail)

        result = [token(w.key, w.pos1, w.start, w.end, _detail(w.pos2, w.pos3))
                  for w in words if _is_content(w.key, w.pos1, w.pos2)]
        result += [token(compound, "複合語", start, end) for compound, start, end in _compounds(words)]
        result.sort(key=lambda t: (t.start, -t.end))
        return result

    def terms(self, text: str) -> list[str]:
        """The lemma keys of `text`, in order, repeated as often as they occur (for BM25)."""
        return [t.term for t in self.tokens(text)]

    def _words(self, normalized: str) -> list[_Word]:
        with self._lock:
            tagged = [(w.surface, w.feature.lemma, w.feature.pos1, w.feature.pos2, w.feature.pos3)
                      for w in self._tagger(normalized)]
        words: list[_Word] = []
        pos = 0
        for surface, lemma, pos1, pos2, pos3 in tagged:
            start = normalized.find(surface, pos)
            if start < 0:  # MeCab dropped or changed a character; keep going from here
                start = pos
            pos = start + len(surface)
            words.append(_Word(term_key(LEMMA_FIXES.get(surface) or lemma or surface), pos1, pos2, pos3 or "", start,
                               pos))
        return words


def _compounds(words: list[_Word]) -> list[tuple[str, int, int]]:
    """(compound, start, end) for each run of words that COMPOUNDS lists, in normalised-text offsets."""
    found: list[tuple[str, int, int]] = []
    keys = [w.key for w in words]
    for i, key in enumerate(keys):
        for parts, compound in _COMPOUNDS_BY_FIRST.get(key, ()):
            last = i + len(parts) - 1
            if tuple(keys[i : last + 1]) == parts:
                found.append((compound, words[i].start, words[last].end))
    return found


def _original_span(text: str, origin: list[int], start: int, end: int) -> tuple[int, int]:
    """Where the normalised characters start..end came from in `text`."""
    if not origin:
        return 0, 0
    s = origin[min(start, len(origin) - 1)]
    e = origin[end - 1] + 1 if end - 1 < len(origin) else len(text)
    # a folded chunk may span several source characters (ｶﾞ → ガ)
    while e < len(text) and _joins_previous(text[e]):
        e += 1
    return s, e


def _joins_previous(char: str) -> bool:
    """A mark that NFKC joins to the character before it."""
    return bool(unicodedata.combining(char)) or char in _HALFWIDTH_SOUND_MARKS


def _detail(pos2: str, pos3: str) -> str:
    return "-".join(p for p in (pos2, pos3) if p and p != "*")


def _is_content(key: str, pos1: str, pos2: str) -> bool:
    if pos1 not in _CONTENT_POS or pos2 in _DROP_POS2:
        return False
    if not key or key in STOP_LEMMAS or _ONLY_KANA_OR_SYMBOL_1.match(key):
        return False
    return any(c.isalnum() for c in key)


@lru_cache(maxsize=1)
def default_tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()


# Bump when a rule in this module changes the terms of a text (normalisation, the content test, compounds).
TOKENIZER_RULES_VERSION = 1


@lru_cache(maxsize=1)
def tokenizer_id() -> str:
    """What the terms of a text depend on: the dictionary, the domain tables and this module's rules. A BM25
    index built under another id holds other terms for the same texts, so a saved index records it and is
    rebuilt from the database when it differs (index_snapshot.check_config)."""
    from importlib.metadata import version

    tables = {"unidic-lite": version("unidic-lite"), "fugashi": version("fugashi"),
              "rules": TOKENIZER_RULES_VERSION, "compounds": sorted(["|".join(k), v] for k, v in COMPOUNDS.items()),
              "lemma_fixes": sorted(LEMMA_FIXES.items()), "stop_lemmas": sorted(STOP_LEMMAS)}
    digest = hashlib.sha256(json.dumps(tables, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return f"unidic-lite-{tables['unidic-lite']}-{digest[:16]}"


def check_text(text: object, *, field: str, max_chars: int) -> str:
    """Validate user text: a non-empty string of at most `max_chars` characters."""
    if text is None or not isinstance(text, str) or not text.strip():
        raise EmptyTextError(field)
    if len(text) > max_chars:
        raise TextTooLongError(len(text), max_chars, field)
    return text
