"""The admin commands on a local Ray cluster (issue 16): bulk embedding, whose actors encode the texts that lack a
stored vector while the vectors reach the database in batches through the command's own loop (api/reembed.py,
`store_vectors`), resumably; and the report from the database, sharded, equal to the unsharded one."""

from __future__ import annotations

import dataclasses

import numpy as np
from sqlmodel import Session, col, select

from api.embeddings import STORED_DTYPE, Embedding
from api.reembed import embed_missing, indexed_texts
from api.report_cli import report_from_database
from matcher.reports import ReportOptions, ReportScope

from ..test_reports_sharded import LetterCounts, LetterCountsSpec


def test_ray_actors_fill_in_every_missing_vector_once(cluster, client):
    from matcher.ray_encode import RayEncoder

    db = client.app.state.db
    pool = RayEncoder(LetterCountsSpec(), workers=2)
    try:
        report = embed_missing(db, pool)
        again = embed_missing(db, pool)
    finally:
        pool.close()
    with Session(db) as session:
        texts = indexed_texts(session, LetterCounts.name)
        rows = session.exec(select(Embedding).where(col(Embedding.model_id) == LetterCounts.name)).all()
    assert report.embedded == report.texts == len(texts) == len(rows) > 10
    assert (again.embedded, again.already_stored) == (0, report.texts)  # resumable: nothing done twice
    stored = {row.content_hash: np.frombuffer(row.vector, dtype=STORED_DTYPE) for row in rows}
    for fingerprint, text in texts.items():
        np.testing.assert_array_equal(stored[fingerprint], LetterCounts().encode_passages([text])[0])


def test_the_report_from_the_database_is_the_same_on_shards(cluster, client, encoder):
    db = client.app.state.db
    options = ReportOptions(candidates=5, top_partners=10)  # 5 of the corpus's seeds: the cut decides
    plain = report_from_database(db, encoder, ReportScope(), options)
    sharded = report_from_database(db, encoder, ReportScope(), options, shards=2)
    assert plain.meta.needs >= 5 and plain.meta.seeds > 2 * 5
    mine, theirs = dataclasses.asdict(sharded), dataclasses.asdict(plain)
    for meta in (mine["meta"], theirs["meta"]):
        del meta["timings"], meta["generated_at"]
    assert mine == theirs
