"""`matcher-admin report`: the batch report of the database's seeds and needs, sharded on Ray if asked.

    matcher-admin report --region 中部 --shards 16 --ray-address auto --out var/reports/chubu

The API's report jobs (api/reports_jobs.py) run in a service worker, on that worker's index. This command
is for a report too large for one machine: it reads the records and their stored vectors from the
database (`MATCHER_DATABASE_URL`, PostgreSQL in production) into an engine of its own, in memory, with
no index folder, so it neither waits for nor disturbs a running service; the needs' stored query
vectors spare their encoding; then `compute_report(shards=…)` searches the seeds on the Ray cluster
(docs/scale-out.md). Only texts without a stored vector are encoded, here.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine as Database
from sqlmodel import Session

from matcher.embed import TextEncoder
from matcher.engine import Engine
from matcher.reports import Progress, Report, ReportOptions, ReportScope, compute_report, select_needs

from .embeddings import known_vectors, stored_query_vectors
from .service import load_records


def engine_from_database(db: Database, encoder: TextEncoder) -> Engine:
    """An engine over the listed seeds and active needs, with the vectors the database holds for `encoder`."""
    with Session(db) as session:
        universities, seeds, needs = load_records(session)
        known = known_vectors(session, encoder.name)
        engine = Engine(encoder, universities=universities)
        engine.sync_seeds(seeds, known=known)
        engine.sync_needs(needs, known=known)
    return engine


def report_from_database(db: Database, encoder: TextEncoder, scope: ReportScope, options: ReportOptions, *,
                         shards: int = 1, ray_address: str | None = None,
                         progress: Progress | None = None) -> Report:
    """The report of the needs in `scope` (regions, prefectures, market areas; not a period, which the API's
    jobs read from the database) against every listed seed."""
    engine = engine_from_database(db, encoder)
    needs = select_needs(engine, scope)
    with Session(db) as session:
        vectors = stored_query_vectors(session, encoder.name, [n.text for n in needs])
    return compute_report(engine, scope, options, needs=needs, need_vectors=vectors, progress=progress,
                          shards=shards, ray_address=ray_address)
