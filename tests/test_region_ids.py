"""RegionIds: the ids of each region, kept write by write, always equal to a loop over the items."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.region_ids import RegionIds

REGIONS = st.sampled_from(["北海道", "東北", "関東", None])
WRITES = st.lists(st.tuples(st.sampled_from(["put", "remove"]), st.integers(1, 30), REGIONS), max_size=80)


@settings(max_examples=200, deadline=None)
@given(WRITES)
def test_the_arrays_equal_a_loop_over_the_items_after_any_writes(writes):
    kept, truth = RegionIds(), {}
    for op, item_id, region in writes:
        if op == "put":
            kept.put(item_id, region)
            truth[item_id] = region
        else:
            kept.remove(item_id)
            truth.pop(item_id, None)
        for asked in ("北海道", "東北", "関東", None):  # read between writes: cached arrays must follow
            inside = sorted(i for i, r in truth.items() if r == asked)
            assert kept.inside(asked).tolist() == inside
            assert kept.outside(asked).tolist() == sorted(set(truth) - set(inside))
    assert kept.everything().tolist() == sorted(truth) and len(kept) == len(truth)


def test_a_copy_is_independent():
    kept = RegionIds()
    kept.put(1, "関東")
    kept.put(2, "東北")
    assert kept.inside("関東").tolist() == [1]
    twin = kept.copy()
    kept.put(3, "関東")
    kept.remove(2)
    assert twin.inside("関東").tolist() == [1] and twin.outside("関東").tolist() == [2]
    assert kept.inside("関東").tolist() == [1, 3] and kept.inside("東北").dtype == np.int64
