"""Seed filters (matcher/seed_groups.py) answered from per-prefecture, per-region and per-market-area id sets
give exactly the seeds a test of each record finds, through writes, removals and a university's move."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.engine import Engine
from matcher.records import Seed, University
from matcher.seed_groups import SeedFilter, SeedGroups, TaggedIds

from .test_engine_encoder import CharacterBigrams

PREFECTURES = ["01", "04", "13", "23", "27", "34", "38", "40", "47"]
AREAS = ["M1", "M2", "M3", "M4"]


def kept_by_record(engine: Engine, keep: SeedFilter) -> set[int]:
    """The filter's rule (SeedFilter's docstring), one record at a time."""
    found = set()
    for seed in engine.seeds.values():
        code = seed.prefecture_code or engine.universities[seed.university].prefecture_code
        region = engine.prefectures.get(code).region if code else None
        if keep.include_prefectures and code not in keep.include_prefectures:
            continue
        if code in keep.exclude_prefectures or region in keep.exclude_regions:
            continue
        if keep.include_regions and region not in keep.include_regions:
            continue
        if keep.market_areas and not keep.market_areas & set(seed.market_areas):
            continue
        found.add(seed.id)
    return found


seeds = st.lists(st.tuples(st.sampled_from([None, *PREFECTURES]), st.sets(st.sampled_from(AREAS), max_size=2),
                           st.sampled_from(["甲大学", "乙大学"])), min_size=1, max_size=40)
filters = st.builds(SeedFilter, *(st.frozensets(st.sampled_from(values), max_size=3) for values in
                                  (PREFECTURES, PREFECTURES, ["北海道", "関東", "近畿", "九州"],
                                   ["東北", "中部", "中国", "四国"], AREAS)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seeds, filters, st.data())
def test_a_filter_keeps_exactly_what_a_test_of_each_record_keeps(tmp_path, rows, keep, data):
    engine = Engine(CharacterBigrams(), universities=[University("甲大学", "13"), University("乙大学", None)])
    records = [Seed(id=i + 1, title=f"シーズ{i}", university=u, prefecture_code=p, market_areas=tuple(sorted(a)))
               for i, (p, a, u) in enumerate(rows)]
    engine.replace_seed_records(records)
    for _ in range(data.draw(st.integers(0, 5))):  # writes after the start: moves, new areas, removals
        seed = data.draw(st.sampled_from(list(engine.seeds.values())))
        if data.draw(st.booleans()):
            engine.seeds[seed.id] = moved = dataclasses.replace(seed, prefecture_code=data.draw(
                st.sampled_from([None, *PREFECTURES])), market_areas=tuple(data.draw(st.sets(st.sampled_from(AREAS)))))
            engine._group(moved)
        elif len(engine.seeds) > 1:
            del engine.seeds[seed.id]
            engine.seed_groups.remove(seed.id)
    if data.draw(st.booleans()):
        engine.add_university(University("乙大学", data.draw(st.sampled_from(PREFECTURES))))
    narrowed = engine._narrowed(None, keep)
    if not keep:
        assert narrowed is None
        return
    assert narrowed is not None and np.all(np.diff(narrowed) > 0)  # sorted, no repeats: what the search expects
    assert set(narrowed.tolist()) == kept_by_record(engine, keep)
    in_scope = engine.seed_regions.inside("関東")
    assert set(engine._narrowed(in_scope, keep).tolist()) == kept_by_record(engine, keep) & set(in_scope.tolist())


def test_tagged_ids_follow_changes_and_copies_stay_as_taken():
    tags = TaggedIds()
    tags.put(1, ["M1", "M2"])
    tags.put(2, ["M2"])
    assert tags.with_tag("M2").tolist() == [1, 2]
    twin = tags.copy()
    tags.put(1, ["M3"])
    tags.remove(2)
    assert tags.with_tag("M2").tolist() == [] and tags.with_tag("M3").tolist() == [1]
    assert twin.with_tag("M2").tolist() == [1, 2] and twin.with_tag("M3").tolist() == []


def test_an_empty_filter_filters_nothing():
    groups = SeedGroups()
    groups.put(1, region="関東", prefecture="13", market_areas=["M1"])
    allowed = np.array([1], dtype=np.int64)
    assert not SeedFilter() and groups.narrowed(allowed, SeedFilter()) is allowed
    assert groups.narrowed(None, SeedFilter(market_areas=frozenset({"M9"}))).tolist() == []
