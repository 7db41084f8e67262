"""Candidates grouped by partner from the engine's partner codes (partner_codes.py) give exactly the groups and
the ranking of a plain seed-by-seed grouping, at every level, through writes, deletes and copies."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.partner_codes import PartnerCodes
from matcher.rank import AGGREGATIONS, LEVELS, group_by_partner, partner_key, rank_partners
from matcher.records import Researcher, Seed

from .aggregation_reference import REFERENCE

UNIVERSITIES = ["静岡大学", "浜松医科大学", "東北大学", "琉球大学"]


def _seed(seed_id: int, university: int, researcher: int | None) -> Seed:
    person = None if researcher is None else Researcher(name=f"研究者{researcher}", university=UNIVERSITIES[university],
                                                        department="工学部")
    return Seed(id=seed_id, title=f"シーズ{seed_id}", university=UNIVERSITIES[university], researcher=person)


seed_specs = st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 5))), min_size=1, max_size=40)


def _candidates(seeds: dict[int, Seed], rng: np.random.Generator, n: int) -> list[tuple[int, float, float, float]]:
    ids = rng.choice(sorted(seeds), size=min(n, len(seeds)), replace=False)
    fused = np.round(rng.random(len(ids)), 2)  # rounded: ties occur, and must be broken alike
    order = np.lexsort((ids, -fused))
    return [(int(ids[k]), float(fused[k]), float(rng.random()), float(rng.random() * 10)) for k in order]


def _plain_groups(rows, seeds, level):
    groups = defaultdict(list)
    for seed_id, fused, dense, lexical in rows:
        key = partner_key(seeds[seed_id], level)
        if key is not None:
            groups[key].append((seeds[seed_id], fused, dense, lexical))
    return dict(groups)


@settings(max_examples=60, deadline=None)
@given(specs=seed_specs, level=st.sampled_from(LEVELS), method=st.sampled_from(sorted(AGGREGATIONS)),
       rng_seed=st.integers(0, 2**16), deleted=st.integers(0, 5))
def test_grouping_by_codes_equals_grouping_seed_by_seed(specs, level, method, rng_seed, deleted):
    seeds = {k + 1: _seed(k + 1, u, r) for k, (u, r) in enumerate(specs)}
    codes = PartnerCodes()
    for seed in seeds.values():
        codes.put(seed)
    for seed_id in list(seeds)[:deleted]:  # deleted seeds leave no trace in the codes
        codes.remove(seed_id)
        del seeds[seed_id]
    if not seeds:
        return
    # a seed moved to another university keeps no trace of the old one
    moved = next(iter(seeds.values()))
    seeds[moved.id] = _seed(moved.id, (UNIVERSITIES.index(moved.university) + 1) % 4, None)
    codes.put(seeds[moved.id])
    rows = _candidates(seeds, np.random.default_rng(rng_seed), 30)

    by_codes = group_by_partner(rows, seeds, level, codes.copy())
    plain = _plain_groups(rows, seeds, level)
    assert list(by_codes) == list(plain)  # the same groups, in order of first appearance
    assert {key: [tuple(s) for s in by_codes[key]] for key in by_codes} == plain

    ranked = rank_partners(by_codes, method, region_of=lambda s: s.university, need_region="静岡大学")
    assert ranked == rank_partners(group_by_partner(rows, seeds, level), method, region_of=lambda s: s.university,
                                   need_region="静岡大学")
    expected = sorted(((REFERENCE[method]([s[1] for s in hits]), key) for key, hits in plain.items()),
                      key=lambda sk: (-sk[0], sk[1]))
    assert [r.key for r in ranked] == [key for _, key in expected] or _ties_within_rounding(ranked, expected)
    for r, (score, _) in zip(ranked, expected, strict=True):
        assert math.isclose(r.score, score, rel_tol=1e-9, abs_tol=1e-12)


def _ties_within_rounding(ranked, expected) -> bool:
    """The reference adds in another order: scores equal to 1e-12 may swap places, nothing else."""
    return all(math.isclose(r.score, s, abs_tol=1e-12) for r, (s, _) in zip(ranked, expected, strict=True))


def test_sparse_ids_give_up_the_columns_and_group_alike():
    seeds = {1: _seed(1, 0, 1), 10**9: _seed(10**9, 1, 2)}
    codes = PartnerCodes()
    for seed in seeds.values():
        codes.put(seed)
    assert not codes.usable and codes.codes("university", np.array([1])) is None
    rows = [(10**9, 0.9, 0.8, 1.0), (1, 0.5, 0.4, 0.0)]
    assert list(group_by_partner(rows, seeds, "university", codes)) == ["浜松医科大学", "静岡大学"]


@pytest.mark.parametrize("level", LEVELS)
def test_an_id_the_codes_do_not_hold_falls_back_to_the_records(level):
    seeds = {1: _seed(1, 0, 1), 2: _seed(2, 1, None)}
    codes = PartnerCodes()
    codes.put(seeds[1])  # seed 2 written behind the codes' back
    groups = group_by_partner([(2, 0.9, 0.8, 1.0), (1, 0.5, 0.4, 0.0)], seeds, level, codes)
    assert list(groups) == list(_plain_groups([(2, 0.9, 0.8, 1.0), (1, 0.5, 0.4, 0.0)], seeds, level))
