"""`matcher bench scale`: prints the figures issue 16 asks for, measured on a small engine."""

from __future__ import annotations

from pathlib import Path

from matcher.bench_scale import SCOPES, run

KAKEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaken" / "seeds.jsonl"


def test_bench_scale_prints_engine_times_per_scope_memory_and_encoding(encoder):
    figures = run(3_000, kaken=KAKEN if KAKEN.exists() else None, queries=4, encoder_factory=lambda: encoder,
                  encode_samples=3)
    assert figures["seeds"] == 3_000 and figures["real_seeds"] + figures["synthetic_seeds"] == 3_000
    assert set(figures["engine_ms_by_scope"]) == set(SCOPES)
    assert all(scope["n"] == 4 for scope in figures["engine_ms_by_scope"].values())
    assert 0 < figures["engine_ms_p50"] <= figures["engine_ms_p95"]
    assert figures["bytes_per_seed"] > 0 and figures["encode_ms_p50"] > 0
    assert "synthetic" in figures["vectors"]
