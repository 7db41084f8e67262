"""The Ray session of the API's sharded report jobs (MATCHER_REPORT_SHARDS > 1, MATCHER_RAY_ADDRESS).

A report job runs in a thread of the API worker (api/reports_jobs.py). `ray.init` works there: Ray only skips
its SIGTERM handler outside the main thread (it logs a warning), and the session it opens belongs to the
process, so any thread may use it. What does not fit a worker is `matcher.shards.ray_session` entered per job:
it closes the session it opened when the job ends, so with two jobs at once (MATCHER_REPORT_JOBS_RUNNING > 1)
the first to finish would shut Ray down under the other, and every job would pay Ray's start again (about
10 s for a local cluster). So `ReportCluster` enters `ray_session` once, under a lock, from the first sharded
job's thread, and keeps it open for the jobs after it; the app closes it at shutdown (api/main.py), and
`compute_report(shards=…)`'s own `ray_session` finds it open and leaves it so.

Not at start-up: a cluster that is down must not keep the API from matching. A job whose Ray cannot start (or
whose address answers nothing) fails with `RAY_UNAVAILABLE`, and the next sharded job tries again; a job that
loses its cluster half-way (a dead actor or node) fails with `RAY_FAILED`, and the session is closed once no
job uses it, so the next one connects afresh. Either way the database is only read, and a failed job keeps
no file.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from matcher.shards import ray_session

log = logging.getLogger(__name__)

RAY_UNAVAILABLE = ("レポートの検索を分担する Ray クラスターを起動できない（または接続できない）ため、レポートを作成"
                   "できませんでした。管理者にジョブ番号 {job_id} をお知らせください（クラスターが動いているか、"
                   "MATCHER_RAY_ADDRESS の設定を確かめてください。詳しい原因はサーバーの記録にあります）。")
RAY_FAILED = ("レポートの検索を分担する Ray クラスターで処理が途中で止まったため、レポートを作成できませんでした。"
              "もう一度お試しください。続く場合は、管理者にジョブ番号 {job_id} をお知らせください。")


class ClusterUnavailable(RuntimeError):
    """Ray could not be started or joined; the cause is chained."""


class ReportCluster:
    """Where the report jobs of one app search: in the job's thread (`shards` 1), or on one Ray session shared by
    the jobs (`shards` > 1), at `address` (None: Ray's own search, else a new local cluster)."""

    def __init__(self, shards: int = 1, address: str | None = None):
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.shards = shards
        self.address = address or None
        self._lock = threading.Lock()
        self._stack: ExitStack | None = None  # the open ray_session, None while closed
        self._users = 0
        self._broken = False

    @property
    def sharded(self) -> bool:
        return self.shards > 1

    @property
    def is_open(self) -> bool:
        return self._stack is not None

    @contextmanager
    def session(self) -> Iterator[None]:
        """For the duration of one job's search: the shared Ray session, opened if need be (ClusterUnavailable
        when it cannot be); nothing at all for one shard."""
        if not self.sharded:
            yield
            return
        self._enter()
        broken = False
        try:
            yield
        except Exception as error:
            broken = _is_ray_error(error)
            raise
        finally:
            with self._lock:
                self._users -= 1
                self._broken = self._broken or broken
                if self._broken and self._users == 0:
                    log.warning("closing the report jobs' Ray session after a Ray failure; the next job reconnects")
                    self._close_locked()

    def _enter(self) -> None:
        with self._lock:
            if self._stack is None:
                stack = ExitStack()
                try:
                    stack.enter_context(ray_session(self.address))
                except Exception as error:
                    raise ClusterUnavailable(f"Ray could not start at {self.address or 'its default'}") from error
                self._stack, self._broken = stack, False
            self._users += 1

    def close(self) -> None:
        """Close the session, if this app opened one (at shutdown: a job still running fails)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        stack, self._stack, self._broken = self._stack, None, False
        if stack is not None:
            try:
                stack.close()
            except Exception:  # noqa: BLE001 - a cluster already gone; the next job opens a new session
                log.exception("could not close the report jobs' Ray session")


def failure_message(error: BaseException, job_id: int) -> str | None:
    """The coordinator's reason for a job failed by Ray, or None when Ray is not to blame."""
    if isinstance(error, ClusterUnavailable):
        return RAY_UNAVAILABLE.format(job_id=job_id)
    if _is_ray_error(error):
        return RAY_FAILED.format(job_id=job_id)
    return None


def _is_ray_error(error: BaseException) -> bool:
    """A failure of the cluster itself (a dead actor, a lost node or object), not of the report's own code:
    Ray wraps an exception raised in a task as a RayTaskError, which is left to the caller's message."""
    if "ray" not in sys.modules:  # never imported: no Ray error, and no Ray import for a plain job's failure
        return False
    from ray import exceptions

    return isinstance(error, exceptions.RayError) and not isinstance(error, exceptions.RayTaskError)
