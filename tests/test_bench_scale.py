"""`matcher bench scale`: prints the figures issue 16 asks for, measured on a small engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matcher import clustered_vectors
from matcher.ann import AnnSettings
from matcher.ann_partners import SCOPES, partner_recall
from matcher.bench_ann import dense_sweep
from matcher.bench_scale import run

KAKEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaken" / "seeds.jsonl"


def test_bench_scale_prints_engine_times_per_scope_memory_and_encoding(encoder):
    figures = run(3_000, kaken=KAKEN if KAKEN.exists() else None, queries=4, encoder_factory=lambda: encoder,
                  encode_samples=3)
    assert figures["seeds"] == 3_000 and figures["real_seeds"] + figures["synthetic_seeds"] == 3_000
    assert set(figures["engine_ms_by_scope"]) == set(SCOPES) == set(figures["recall_at_10_by_scope"])
    assert all(scope["n"] == 4 for scope in figures["engine_ms_by_scope"].values())
    assert 0 < figures["engine_ms_p50"] <= figures["engine_ms_p95"]
    assert figures["bytes_per_seed"] > 0 and figures["encode_ms_p50"] > 0
    assert "synthetic" in figures["vectors"] and "below the ANN threshold" in figures["index"]["dense"]
    assert figures["recall_at_10"] == 1.0  # below the threshold the search is exact


def test_bench_scale_above_the_threshold_measures_the_ann_index_against_the_exact_search():
    ann = AnnSettings(threshold=1_000, kind="ivf-flat", recall_k=50)
    figures = run(3_000, kaken=None, queries=3, ann=ann, calibration_needs=4)
    index = figures["index"]
    assert index["kind"] == "ivf-flat" and index["nlist"] == 76 and 1 <= index["nprobe"] <= 76
    # nprobe raised on the partners lists of the calibration needs until they met the target (or all lists)
    assert index["recall_measure"].startswith("partners list")
    assert index["recall"] >= ann.target_recall or index["nprobe"] == index["nlist"]
    by_scope = figures["recall_at_10_by_scope"]
    assert set(by_scope) == set(SCOPES) and figures["recall_at_10"] == min(by_scope.values())
    assert set(figures["exact_engine_ms_by_scope"]) == set(SCOPES)


def test_partner_recall_is_the_share_of_the_exact_partners_found():
    assert partner_recall([["a", "b", "c"]], [["a", "b", "d"]]) == 2 / 3
    assert partner_recall([["a"], ["x"]], [["a"], ["y"]]) == 0.5
    assert partner_recall([[]], [[]]) == 1.0  # no partner to find


def test_clustered_vectors_keep_the_real_vectors_cone_and_nearest_neighbours():
    model = clustered_vectors.fit()
    real = np.concatenate([model.seed_topics, model.need_topics])
    sample = model.draw(real, len(real), np.random.default_rng(4))
    assert np.allclose(np.linalg.norm(sample, axis=1), 1, atol=1e-5)
    real_mean_cosine = float((real @ real.T).mean())
    assert abs(float((sample @ sample.T).mean()) - real_mean_cosine) < 0.02
    assert abs(clustered_vectors.median_nearest_cosine(sample) - clustered_vectors.median_nearest_cosine(real)) < 0.01
    random = np.random.default_rng(4).standard_normal(sample.shape)
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    assert float((random @ random.T).mean()) < 0.1  # what random unit vectors would have given


def test_the_dense_only_sweep_reaches_exact_recall_when_every_list_is_probed():
    figures = dense_sweep(3_000, AnnSettings(kind="ivf-flat", recall_k=50), queries=5, ks=(50,), nprobes=(1, 76))
    assert figures["calibrated"]["nlist"] == 76 and figures["exact_product_ms"] > 0
    one, every = figures["sweep"]
    assert (one["nprobe"], every["nprobe"]) == (1, 76)
    assert every["recall"] == 1.0 and one["recall"] < 1.0  # one list of 76 misses neighbours
