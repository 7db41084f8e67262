"""Each seed's partner (its university, its researcher) as a small integer, in an array indexed by seed id.

A match groups its candidates by partner (rank.PartnerGroups). Looking up each candidate's Seed and its
partner key in Python cost ≈ 1 µs a candidate, some 1,700 candidates twice per match at 10^5 seeds: a tenth
of the match. With these columns the grouping is one array lookup (`codes`). They are kept seed by seed by
the engine's writes (`put`, `remove`), so a write costs O(1), and hold 8 bytes per seed id.

Seed ids are the database's, dense from 1 up. Where ids are far sparser than that (an id above
`SPARSE_FACTOR` × the seeds held, plus a margin), the columns are given up (`codes` answers None) and the
grouping looks the partners up seed by seed, as before: the same partners either way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .rank import partner_key
from .records import Seed

Codes = NDArray[np.int32]
SPARSE_FACTOR = 4
SPARSE_MARGIN = 1 << 16
CODED_LEVELS = ("university", "researcher")  # a seed partner's key is the seed id itself


class PartnerCodes:
    """seed id → code of its partner at each of `CODED_LEVELS` (-1: none, or no such seed), and code → key."""

    def __init__(self) -> None:
        self._keys: dict[str, list[str]] = {level: [] for level in CODED_LEVELS}
        self._code_of: dict[str, dict[str, int]] = {level: {} for level in CODED_LEVELS}
        self._columns: dict[str, Codes] = {level: np.full(0, -1, dtype=np.int32) for level in CODED_LEVELS}
        self._held = 0
        self.usable = True  # False once ids turned out too sparse for columns indexed by id

    def put(self, seed: Seed) -> None:
        if not self.usable:
            return
        if seed.id < 0 or seed.id >= SPARSE_FACTOR * (self._held + 1) + SPARSE_MARGIN:
            self.usable = False
            self._columns = {level: np.full(0, -1, dtype=np.int32) for level in CODED_LEVELS}
            return
        self._grow(seed.id + 1)
        if self._columns["university"][seed.id] < 0:
            self._held += 1
        for level in CODED_LEVELS:
            key = partner_key(seed, level)
            self._columns[level][seed.id] = -1 if key is None else self._code(level, key)

    def remove(self, seed_id: int) -> None:
        if self.usable and 0 <= seed_id < len(self._columns["university"]) \
                and self._columns["university"][seed_id] >= 0:
            self._held -= 1
            for level in CODED_LEVELS:
                self._columns[level][seed_id] = -1

    def codes(self, level: str, seed_ids: NDArray[np.int64]) -> NDArray[np.int64] | None:
        """The partner code of each seed (-1 where it has none at `level`); None where the columns cannot
        answer (sparse ids, an id not held), so that the caller looks the seeds up instead."""
        if level not in CODED_LEVELS:
            return np.asarray(seed_ids, dtype=np.int64)  # a seed is its own partner: its id is its code
        column = self._columns[level]
        if not self.usable or not len(seed_ids) or int(seed_ids.max()) >= len(column) or int(seed_ids.min()) < 0:
            return None if len(seed_ids) else np.empty(0, dtype=np.int64)
        if bool((self._columns["university"][seed_ids] < 0).any()):
            return None  # an id not held (every held seed has a university): the records answer, as before
        return column[seed_ids].astype(np.int64)

    def key(self, level: str, code: int) -> str:
        return self._keys[level][code] if level in CODED_LEVELS else str(code)

    def copy(self) -> PartnerCodes:
        twin = PartnerCodes()
        twin._keys = {level: list(keys) for level, keys in self._keys.items()}
        twin._code_of = {level: dict(codes) for level, codes in self._code_of.items()}
        twin._columns = {level: column.copy() for level, column in self._columns.items()}
        twin._held, twin.usable = self._held, self.usable
        return twin

    def _code(self, level: str, key: str) -> int:
        code = self._code_of[level].get(key)
        if code is None:
            code = self._code_of[level][key] = len(self._keys[level])
            self._keys[level].append(key)
        return code

    def _grow(self, size: int) -> None:
        current = len(self._columns["university"])
        if size <= current:
            return
        grown = max(size, 2 * current, 1024)
        for level in CODED_LEVELS:
            column = np.full(grown, -1, dtype=np.int32)
            column[:current] = self._columns[level]
            self._columns[level] = column
