"""`matcher-admin serve --workers N`: several server processes on one database and one index folder.

uvicorn starts N processes that each build the app from the environment (`api.main:create_app` as a factory,
which reads `get_settings()`), so what the workers must share travels through the environment:

- the database is migrated and the demo corpus loaded here, once, before any worker starts, and the workers
  are told not to load it (`MATCHER_LOAD_DEMO=false`): N loaders racing on an empty database would each insert;
- the web pages' session secret: without MATCHER_WEB_SECRET each process would draw its own, and a cookie
  signed by one worker would be refused by the next. One is drawn here and handed to every worker (it lasts
  as long as this server, as a single process's does; set MATCHER_WEB_SECRET to keep sessions across restarts).

Each worker owns its index and its follower (api/follower.py), which keeps it up to date with the writes of
the others; snapshots to the shared index folder take a file lock (api/index_upkeep.py). On SQLite (WAL)
several workers work on one machine; PostgreSQL is the backend for many workers or several machines
(its NOTIFY wakes the other workers at each commit; SQLite's followers poll).
"""

from __future__ import annotations

import os
import secrets

from sqlmodel import Session

from .db import make_engine, migrate
from .settings import Settings

APP_FACTORY = "api.main:create_app"


def prepare_database(settings: Settings) -> None:
    """What must happen once per start, not once per worker: the migration, and the demo load when asked."""
    from .demo import load_demo

    engine = make_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
        if settings.load_demo:
            with Session(engine) as session:
                load_demo(session, settings.corpus_dir)
    finally:
        engine.dispose()


def worker_environment(settings: Settings, workers: int = 1) -> dict[str, str]:
    """The variables that make every worker agree with the others and with this parent.

    Threads: unless MATCHER_THREADS was set, each of `workers` processes gets an equal share of the cores for
    torch (and OpenMP, which FAISS uses), at least one. N workers each running 2 threads on 2 cores made one
    query's encoding 9× slower on a busy machine (issue 16: p50 0.37 s → 3.4 s).
    """
    env = {"MATCHER_LOAD_DEMO": "false"}  # loaded once by prepare_database
    if settings.web_secret is None:
        env["MATCHER_WEB_SECRET"] = secrets.token_urlsafe(32)  # 43 characters: the setting asks for 32 or more
    if workers > 1 and "threads" not in settings.model_fields_set:
        share = str(max(1, (os.cpu_count() or 1) // workers))
        env.update(MATCHER_THREADS=share, OMP_NUM_THREADS=share)
    return env


def serve_workers(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Prepare the database, then run `workers` uvicorn processes until stopped (SIGINT or SIGTERM)."""
    import uvicorn

    prepare_database(settings)
    os.environ.update(worker_environment(settings, workers))  # uvicorn's worker processes inherit it
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers)
