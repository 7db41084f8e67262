"""The service benchmark (`python -m api.bench_service`) runs end to end at a small size.

No timing is asserted: only what the benchmark's figures rest on — nothing is re-embedded at start-up, the
follower replays every change, requests leave the index folder alone — and that each figure is there.
"""

from __future__ import annotations

import json

from api import bench_service
from api.bench_scale import bench_scale


def test_the_scale_part_runs_and_embeds_nothing_at_start_up(tmp_path, encoder):
    out = bench_scale(seeds=600, changes=20, writes=4, tmp=tmp_path, encoder=encoder)
    for start in ("start_without_snapshot", "start_from_snapshot", "start_from_snapshot_plus_20_changes"):
        assert out[start]["passages_encoded"] == 0, start
    assert out["replay_live"]["changes"] == 20
    assert out["writes"]["index_folder_files_changed_by_requests"] == 0
    assert out["writes"]["index_update_under_lock"]["n"] == 4
    assert out["writes"]["bytes_written_per_request"] > 0  # the database's pages: a write writes something
    assert out["readyz"]["n"] == 300
    # the saves after the start-up's full one are deltas: a small part of the whole
    full, delta = out["full_snapshot"]["bytes"], out["snapshot_after_4_patches"]["bytes_written"]
    assert 0 < delta < full / 10, (delta, full)
    assert out["snapshot_after_20_replayed_changes"]["changes"] == 20


def test_the_demo_part_serves_matches_while_long_patches_run(capsys):
    bench_service.main(["demo", "--matches", "2"])
    out = json.loads(capsys.readouterr().out)["demo"]
    assert out["ready_with_shipped_vectors"]["wall_s"] > 0
    assert out["short_match_idle"]["n"] == out["short_match_while_patching"]["n"] == 2
    assert out["patch_10000_chars"]["n"] >= 1
