"""The Ray session of the API's sharded report jobs (MATCHER_REPORT_SHARDS > 1, MATCHER_RAY_ADDRESS).

A report job runs in a thread of the API worker (api/reports_jobs.py). `ray.init` works there (Ray only skips
its SIGTERM handler outside the main thread, with a warning in the log), and the session belongs to the
process, so any thread may use it. But two things keep a job's thread from opening it:

- A new local cluster (no address, no cluster found) is started by the thread that calls `ray.init`, and its
  processes (gcs_server, raylet, workers) are bound to that *thread*: Ray starts them with Linux's
  PR_SET_PDEATHSIG, which fires when the creating thread ends, not the process. Measured with Ray 2.60: the
  moment a job thread that had started Ray returned, every Ray process was killed; the next job's first call
  hung, and 60 s later Ray's core worker ended the whole process ("Failed to connect to GCS within 60
  seconds ... The program will terminate"), the API worker with it.
- `matcher.shards.ray_session` entered per job closes the session it opened when the job ends: with two jobs
  at once (MATCHER_REPORT_JOBS_RUNNING > 1) the first to finish would shut Ray down under the other, and
  every job would pay Ray's start again (seconds for a local cluster).

So `ReportCluster` opens the session once, for the first sharded job, in a thread of its own (`report-ray`)
that holds it open until the app shuts down (api/main.py, `close`); the jobs use it from their threads, and
`compute_report(shards=…)`'s own `ray_session` finds it open and leaves it so. Not at start-up: a cluster that
is down must not keep the API from matching. A job whose Ray cannot start (or whose address answers nothing)
fails with `RAY_UNAVAILABLE`, and the next sharded job tries again; a job that loses its cluster half-way (a
dead actor or node) fails with `RAY_FAILED`, and the session is closed once no job uses it, so the next one
connects afresh. Either way the database is only read, and a failed job keeps no file.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from matcher.shards import ray_session

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0  # a cluster's address must accept a connection within this
CLOSE_TIMEOUT_S = 60.0  # ray.shutdown stops a local cluster's processes in a few seconds

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
        self._keeper: _SessionKeeper | None = None  # the thread holding the open session; None while closed
        self._users = 0
        self._broken = False

    @property
    def sharded(self) -> bool:
        return self.shards > 1

    @property
    def is_open(self) -> bool:
        return self._keeper is not None

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
        with self._lock:  # a second job waits here while the first opens the session
            if self._keeper is None:
                self._keeper, self._broken = _SessionKeeper.open(self.address), False
            self._users += 1

    def close(self) -> None:
        """Close the session, if this app opened one (at shutdown: a job still running fails)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        keeper, self._keeper, self._broken = self._keeper, None, False
        if keeper is not None:
            keeper.close()


class _SessionKeeper:
    """A thread that opens `ray_session(address)` and holds it until `close`: the processes of a local cluster
    live as long as the thread that started them (PR_SET_PDEATHSIG), so that thread must outlive the jobs."""

    def __init__(self, address: str | None):
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hold, args=(address,), name="report-ray", daemon=True)

    @classmethod
    def open(cls, address: str | None) -> _SessionKeeper:
        _check_reachable(address)
        keeper = cls(address)
        keeper._thread.start()
        keeper._opened.wait()  # ray.init gives up by itself on an address that answers nothing
        if keeper._error is not None:
            log.error("the report jobs' Ray could not start at %s", address or "Ray's default",
                      exc_info=keeper._error)
            raise ClusterUnavailable(f"Ray could not start at {address or 'its default'}") from keeper._error
        return keeper

    def _hold(self, address: str | None) -> None:
        try:
            with ray_session(address):
                self._opened.set()
                self._stop.wait()
        except Exception as error:  # noqa: BLE001 - told to the job that asked, or logged
            if self._opened.is_set():
                log.exception("could not close the report jobs' Ray session")
            else:
                self._error = error
        finally:
            self._opened.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CLOSE_TIMEOUT_S)


def _check_reachable(address: str | None) -> None:
    """ClusterUnavailable at once when `address` names a host and port that nobody answers: `ray.init` would
    retry it for about 14 minutes (20 tries of ~40 s in Ray 2.60) before giving up, and the job with it."""
    if address is None:
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local": Ray's own look-up
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as error:
        log.error("the report jobs' Ray cluster at %s does not answer: %s", address, error)
        raise ClusterUnavailable(f"nothing answers at {address}") from error


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
