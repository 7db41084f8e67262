"""Issue 14: a full disk never leaves a half-written index or report in place of a good one.

The tests run as root on this machine, so a read-only folder would not stop a write; the full disk is made by
failing the write itself with ENOSPC, as the kernel does, after part of the data went out.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from matcher import index_snapshot
from matcher.index import CONFIG_FILE, DENSE_FILE, TERMS_FILE, Collection

from .conftest import wait_for_report

API = "/api/v1"


def _collection(rows: int) -> Collection:
    vectors = np.eye(4, dtype=np.float32)[:rows]
    c = Collection(4, "test-model")
    c.upsert(list(range(1, rows + 1)), vectors, [[f"t{i}"] for i in range(rows)], [f"f{i}" for i in range(rows)])
    return c


@pytest.mark.parametrize("failing_file", [DENSE_FILE, TERMS_FILE, CONFIG_FILE])
def test_a_snapshot_cut_short_by_a_full_disk_leaves_the_previous_one_whole(tmp_path, monkeypatch, failing_file):
    _collection(2).save(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in (DENSE_FILE, TERMS_FILE, CONFIG_FILE)}
    real = index_snapshot.written_beside

    def disk_full_on(path, data):
        if path.name == failing_file:
            tmp = real(path, data[: len(data) // 2])  # half of it reached the disk
            os.unlink(tmp)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(index_snapshot, "written_beside", disk_full_on)
    with pytest.raises(OSError, match="No space left"):
        _collection(3).save(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before  # nothing of the new one
    assert not list(tmp_path.glob(".*.tmp"))  # and no temp file left behind
    assert sorted(Collection.load(tmp_path, expect_model="test-model").fingerprints) == [1, 2]


def test_a_report_that_fills_the_disk_fails_in_japanese_and_offers_no_file(client, actors, settings, monkeypatch):
    from api import reports_jobs

    def disk_full(report, out_dir, *args, **kwargs):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text('{"needs": [', encoding="utf-8")  # cut short
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reports_jobs, "render_report", disk_full)
    job = client.post(f"{API}/reports", json={"formats": ["json"]}, headers=actors.coordinator).json()
    job = wait_for_report(client, actors.coordinator, job["id"])
    assert job["status"] == "failed" and "失敗しました" in job["message"] and "No space" not in job["message"]
    assert job["files"] == []
    assert not reports_jobs.job_dir(settings.data_dir, job["id"]).exists()  # the half-written file is gone
    download = client.get(f"{API}/reports/{job['id']}/files/report.json", headers=actors.coordinator)
    assert download.status_code == 404
