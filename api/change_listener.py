"""PostgreSQL's LISTEN/NOTIFY for the followers: a write anywhere wakes every worker's follower at its commit.

Each write sends a NOTIFY on `CHANNEL` in its transaction (api/change_log.py). Each follower owns one
`ChangeListener`: a thread with a dedicated psycopg connection in autocommit mode (LISTEN needs no open
transaction, and a pooled connection would hand the subscription to whoever borrows it next) that calls
`on_notice` for every notice.

The listener only shortens the wait; polling stays the source of truth (api/follower.py). So a listener that
loses its connection logs it, calls `on_notice` once it is back (notices sent meanwhile are lost), and
reconnects every `retry_interval` seconds meanwhile; it never raises into the follower. Its connection is
closed when it stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from .change_log import CHANNEL

log = logging.getLogger(__name__)

APPLICATION_NAME = "matcher-follower"  # shows in pg_stat_activity


def libpq_url(url: URL) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://…) as psycopg itself takes it, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    def __init__(self, conninfo: str, on_notice: Callable[[], None], *, channel: str = CHANNEL,
                 wait: float = 0.2, retry_interval: float = 1.0):
        self.conninfo = conninfo
        self.on_notice = on_notice
        self.channel = channel
        self.wait = wait  # how long one wait for notices lasts: bounds how long `stop` takes
        self.retry_interval = retry_interval
        self.connections = 0  # connections made so far: a reconnect shows as 2 or more
        self.failures = 0  # connections lost or refused
        self.backend_pid: int | None = None  # the server process of the current connection (tests end it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def listening(self) -> bool:
        return self.backend_pid is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:  # the database went away or refused us: polling covers until it is back
                self.failures += 1
                log.warning("change listener: connection lost or refused; retrying in %.1f s", self.retry_interval,
                            exc_info=self.failures == 1)
            finally:
                self.backend_pid = None
            self._stop.wait(self.retry_interval)

    def _listen(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5,
                             application_name=APPLICATION_NAME) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.connections += 1
            self.backend_pid = conn.info.backend_pid
            self.on_notice()  # what committed while nobody listened (start-up, or the connection was down)
            while not self._stop.is_set():
                for _notice in conn.notifies(timeout=self.wait):
                    self.on_notice()
