"""The seeds grouped by region, prefecture and market area, kept write by write; and the filter they answer.

A match filtered by prefecture, region or market area (the API's include_/exclude_ options) used to test every
seed with a Python predicate on every query: ≈ 0.5 µs a seed, 50 ms at 10^5 seeds, before any search (issue
16). The engine now keeps, beside the region sets (region_ids.py), one set of seed ids per prefecture and per
market area, and a filter becomes a few set operations on sorted id arrays (numpy, ≈ 1 ms at 10^5).

A seed lies in its own prefecture, or else its university's (Engine._place_of_seed): the same place the
region scopes use, so a prefecture filter and an in-region scope never disagree about where a seed is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .region_ids import Ids, RegionIds

_EMPTY: Ids = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class SeedFilter:
    """Which seeds a match may return, by place and market area; an empty field filters nothing.

    A seed is kept when its prefecture is among `include_prefectures` (if given) and not among
    `exclude_prefectures`, its region likewise, and it has at least one of `market_areas` (if given). A seed
    of unknown place is left out by any include_ filter and kept by the exclude_ ones.
    """

    include_prefectures: frozenset[str] = frozenset()
    exclude_prefectures: frozenset[str] = frozenset()
    include_regions: frozenset[str] = frozenset()
    exclude_regions: frozenset[str] = frozenset()
    market_areas: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return any((self.include_prefectures, self.exclude_prefectures, self.include_regions,
                    self.exclude_regions, self.market_areas))


class TaggedIds:
    """item id → its tags (a seed's market areas, several or none), and tag → its ids, sorted and cached."""

    def __init__(self) -> None:
        self._tags_of: dict[int, frozenset[str]] = {}
        self._members: defaultdict[str, set[int]] = defaultdict(set)
        self._arrays: dict[str, Ids] = {}

    def put(self, item_id: int, tags: Iterable[str]) -> None:
        new = frozenset(tags)
        old = self._tags_of.get(item_id, frozenset())
        if new == old and item_id in self._tags_of:
            return
        for tag in old - new:
            self._members[tag].discard(item_id)
            self._arrays.pop(tag, None)
        for tag in new - old:
            self._members[tag].add(item_id)
            self._arrays.pop(tag, None)
        self._tags_of[item_id] = new

    def remove(self, item_id: int) -> None:
        for tag in self._tags_of.pop(item_id, frozenset()):
            self._members[tag].discard(item_id)
            self._arrays.pop(tag, None)

    def with_tag(self, tag: str) -> Ids:
        array = self._arrays.get(tag)
        if array is None:
            members = self._members.get(tag)
            array = np.sort(np.fromiter(members, dtype=np.int64, count=len(members))) if members else _EMPTY
            self._arrays[tag] = array
        return array

    def copy(self) -> TaggedIds:
        twin = TaggedIds()
        twin._tags_of = dict(self._tags_of)
        twin._members = defaultdict(set, {tag: set(ids) for tag, ids in self._members.items()})
        twin._arrays = dict(self._arrays)  # arrays are never changed in place
        return twin


class SeedGroups:
    """The seeds by region (the scopes), by prefecture and by market area (the filters)."""

    def __init__(self) -> None:
        self.regions = RegionIds()
        self.prefectures = RegionIds()  # the same structure, keyed by prefecture code
        self.market_areas = TaggedIds()

    def put(self, seed_id: int, *, region: str | None, prefecture: str | None, market_areas: Iterable[str]) -> None:
        self.regions.put(seed_id, region)
        self.prefectures.put(seed_id, prefecture)
        self.market_areas.put(seed_id, market_areas)

    def remove(self, seed_id: int) -> None:
        self.regions.remove(seed_id)
        self.prefectures.remove(seed_id)
        self.market_areas.remove(seed_id)

    def copy(self) -> SeedGroups:
        twin = SeedGroups()
        twin.regions, twin.prefectures = self.regions.copy(), self.prefectures.copy()
        twin.market_areas = self.market_areas.copy()
        return twin

    def narrowed(self, allowed: Ids | None, keep: SeedFilter | None) -> Ids | None:
        """The ids of `allowed` (None: every seed) that `keep` accepts, sorted; `allowed` itself when nothing is
        filtered."""
        if not keep:
            return allowed
        ids = self.regions.everything() if allowed is None else allowed
        if keep.include_prefectures:
            ids = _within(ids, [self.prefectures.inside(p) for p in keep.include_prefectures])
        if keep.exclude_prefectures:
            ids = _without(ids, [self.prefectures.inside(p) for p in keep.exclude_prefectures])
        if keep.include_regions:
            ids = _within(ids, [self.regions.inside(r) for r in keep.include_regions])
        if keep.exclude_regions:
            ids = _without(ids, [self.regions.inside(r) for r in keep.exclude_regions])
        if keep.market_areas:
            ids = _within(ids, [self.market_areas.with_tag(a) for a in keep.market_areas])
        return ids


def _union(groups: list[Ids]) -> Ids:
    return groups[0] if len(groups) == 1 else np.unique(np.concatenate(groups))


def _within(ids: Ids, groups: list[Ids]) -> Ids:
    return np.intersect1d(ids, _union(groups), assume_unique=True)


def _without(ids: Ids, groups: list[Ids]) -> Ids:
    return np.setdiff1d(ids, _union(groups), assume_unique=True)
