"""The report job's time estimate (api/report_progress.py): fed times and counts, as a job's progress reports."""

from __future__ import annotations

import pytest

from api import report_progress
from api.report_progress import MEASURE_S, StageClock, remaining_text


def test_no_estimate_until_there_is_enough_to_measure():
    clock = StageClock.start("シーズを検索・集約", 0, 1000, at=100.0)
    assert clock.remaining_s(100.0) is None  # nothing done yet
    clock = clock.observe("シーズを検索・集約", 50, 1000, at=100.0 + MEASURE_S / 2)
    assert clock.remaining_s(101.0) is None  # done some, but measured too briefly
    clock = clock.observe("シーズを検索・集約", 50, 1000, at=100.0 + MEASURE_S + 1)
    assert clock.remaining_s(100.0 + MEASURE_S + 1) is not None


def test_the_estimate_follows_the_measured_speed():
    clock = StageClock.start("シーズを検索・集約", 0, 1000, at=0.0)
    clock = clock.observe("シーズを検索・集約", 100, 1000, at=10.0)  # 10 items a second
    assert clock.remaining_s(10.0) == pytest.approx(90.0)
    assert clock.remaining_s(40.0) == pytest.approx(60.0)  # counts down between reports
    clock = clock.observe("シーズを検索・集約", 200, 1000, at=40.0)  # it slowed: 200 in 40 s, 5 a second
    assert clock.remaining_s(40.0) == pytest.approx(160.0)
    assert clock.remaining_s(500.0) == 0.0  # never below zero when a report is late
    clock = clock.observe("シーズを検索・集約", 1000, 1000, at=60.0)
    assert clock.remaining_s(60.0) is None  # done


def test_a_new_stage_starts_a_new_measurement():
    clock = StageClock.start("ニーズを埋め込み", 0, 64, at=0.0).observe("ニーズを埋め込み", 64, 64, at=20.0)
    clock = clock.observe("シーズを検索・集約", 0, 500, at=20.0)
    assert clock.stage == "シーズを検索・集約" and clock.remaining_s(21.0) is None
    clock = clock.observe("シーズを検索・集約", 250, 500, at=30.0)  # 25 a second in this stage
    assert clock.remaining_s(30.0) == pytest.approx(10.0)
    # the same stage with another total (a second report over other needs) is measured anew too
    assert clock.observe("シーズを検索・集約", 10, 900, at=31.0).remaining_s(31.0) is None


@pytest.mark.parametrize(("seconds", "text"), [(3, "残りわずか"), (12, "残り約20秒"), (41, "残り約50秒"),
                                               (52, "残り約1分"), (61, "残り約1分"), (139.9, "残り約2分"),
                                               (1500, "残り約25分"), (3600, "残り約1時間"),
                                               (4800, "残り約1時間20分")])
def test_remaining_is_said_in_japanese(seconds, text):
    assert remaining_text(seconds) == text


def test_the_clocks_of_jobs_are_kept_apart_and_forgotten():
    report_progress.observe(90001, "シーズを検索・集約", 0, 100, at=0.0)
    report_progress.observe(90002, "シーズを検索・集約", 0, 100, at=0.0)
    report_progress.observe(90001, "シーズを検索・集約", 50, 100, at=10.0)
    assert report_progress.remaining(90001, at=10.0) == pytest.approx(10.0)
    assert report_progress.remaining(90002, at=10.0) is None
    report_progress.forget(90001)
    report_progress.forget(90002)
    assert report_progress.remaining(90001, at=10.0) is None
