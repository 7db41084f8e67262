"""Rows per second of the bulk seed import (issue 15), beside the encoder's raw rate on the same texts (issue 16's
target: the import at ≥ 90% of it): `python -m api.bench_import --rows 10000`, printing one JSON object.

The texts are synthetic: the demo corpus's seeds (corpora/), cycled, each with a numbered title and a numbered
last sentence so that every row is a new text the import must embed (and so demo-length, not title-length).
The app runs in this process (TestClient) on a fresh SQLite database, with the real model loaded once, and
the import goes through the page's own path (`run_import` with the service, so the follower's index update of
each new seed is inside the time). Measured in the same run, on the same texts, in the same chunks:
1. the encoder alone (`encode_passages`, `ENCODE_CHUNK` texts a call, after one warm-up call): rows per second;
2. the whole import of the CSV file (read, plan, encode, one transaction, the index catching up);
3. the same file again: every row unchanged, nothing embedded or written;
and, for comparison, the encoder's bulk path (`show_progress=True`: batches of 32 with no stepping aside for
live matches, which the server's writes and this import do between windows, matcher/priority.py).
Wall times; the machine is shared, so the cores and load average come with the figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from matcher.corpus import CORPUS_DIR, load_corpus
from matcher.embed import Encoder
from matcher.records import seed_text

from . import models as m
from .bench_scale import conditions
from .main import create_app
from .seed_import_layout import COLUMNS, split_list
from .seed_import_read import read_table
from .seed_import_run import ENCODE_CHUNK, run_import
from .settings import Settings

TEXT_NOTE = ("synthetic rows: the demo corpus's seeds cycled, each with a numbered title and a numbered last "
             "sentence, so every row is a new demo-length text")


def synthetic_csv(rows: int) -> bytes:
    """A シーズ集 of `rows` new seeds of one researcher (id 1), in the documented layout."""
    seeds = list(load_corpus(CORPUS_DIR).seeds)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in COLUMNS])
    for i in range(rows):
        seed = seeds[i % len(seeds)]
        writer.writerow([f"B-{i:06d}", f"{seed.title}（{i}）"[:200], f"{seed.summary} 整理番号 {i}。",
                         "、".join(seed.keywords[:20]), "、".join(seed.market_areas), "", "公開", "1"])
    return out.getvalue().encode("utf-8")


def _university(app: Any) -> int:
    with Session(app.state.db) as session:
        org = m.Organisation(name="ベンチマーク大学", kind=m.OrgKind.university, prefecture_code="15")
        session.add(org)
        session.flush()
        session.add(m.Researcher(id=1, name="計測 太郎", organisation_id=m.stored_id(org), email="bench@example.ac.jp"))
        session.commit()
        return m.stored_id(org)


class Stopwatch:
    """Wall and CPU seconds of one pass (CPU: this process, all its threads; the machine is shared, so CPU
    ratios are the steadier figure)."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _encoder_passes(encoder: Encoder, passages: list[str]) -> tuple[Stopwatch, Stopwatch]:
    """The encoder alone on `passages`: in the import's chunks (the call it makes), then the bulk path."""
    encoder.encode_passages(passages[:ENCODE_CHUNK // 4])  # warm-up: the first call pays torch's set-up
    with Stopwatch() as chunked:
        for start in range(0, len(passages), ENCODE_CHUNK):
            encoder.encode_passages(passages[start:start + ENCODE_CHUNK])
    with Stopwatch() as raw:  # the bulk path: batches of `batch_size`, no stepping aside for matches
        encoder.encode_passages(passages, show_progress=True)
    return chunked, raw


def _rates(label: str, rows: int, watch: Stopwatch) -> dict[str, float]:
    return {f"{label}_s": round(watch.wall, 2), f"{label}_cpu_s": round(watch.cpu, 2),
            f"{label}_rows_per_s": round(rows / watch.wall, 2), f"{label}_rows_per_cpu_s": round(rows / watch.cpu, 3)}


def bench_import(rows: int, threads: int, sample: int | None = None) -> dict[str, Any]:
    """`sample`: how many of the rows the encoder-alone passes encode (all by default): at 10^4 rows the three
    full passes take an hour on this machine, and the rate per row is what is compared."""
    before = conditions()
    data = synthetic_csv(rows)
    table = read_table(data)
    encoder = Encoder(threads=threads)
    sampled = min(sample or rows, rows)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", load_demo=False,
                            rate_limit_enabled=False)
        with TestClient(create_app(settings, encoder=encoder)) as client:
            app: Any = client.app
            university_id = _university(app)
            # the texts the import embeds (the seeds' passage texts), in its chunks
            passages = [seed_text(r.cells["title"], r.cells["summary"], split_list(r.cells["keywords"]))
                        for r in table]
            chunked, raw = _encoder_passes(encoder, passages[:sampled])
            stages: dict[str, float] = {}  # seconds per stage the import reports, till the next one
            stage_of, since = "", time.perf_counter()

            def progress(stage: str, done: int, total: int) -> None:
                nonlocal stage_of, since
                now = time.perf_counter()
                if stage_of:
                    stages[stage_of] = stages.get(stage_of, 0.0) + now - since
                stage_of, since = stage, now

            with Stopwatch() as imported:
                outcome = run_import(app.state.db, encoder, university_id, read_table(data),
                                     service=app.state.service, progress=progress)
            with Stopwatch() as again_watch:
                again = run_import(app.state.db, encoder, university_id, read_table(data), service=app.state.service)
    importing = _rates("import", rows, imported)
    alone, bulk = _rates("encoder_only", sampled, chunked), _rates("encoder_raw", sampled, raw)

    def ratio(to: dict[str, float], label: str, unit: str) -> float:
        return round(importing[f"import_rows_per_{unit}"] / to[f"{label}_rows_per_{unit}"], 3)

    return {
        "benchmark": "bulk seed import (issue 15)", "rows": rows, "texts": TEXT_NOTE, "encoder_threads": threads,
        "encode_chunk": ENCODE_CHUNK, "file_bytes": len(data), "encoder_sample_rows": sampled,
        **importing, **alone, **bulk,
        "ratio_import_to_encoder": ratio(alone, "encoder_only", "s"),
        "ratio_import_to_encoder_cpu": ratio(alone, "encoder_only", "cpu_s"),
        "ratio_import_to_encoder_raw": ratio(bulk, "encoder_raw", "s"),
        "ratio_import_to_encoder_raw_cpu": ratio(bulk, "encoder_raw", "cpu_s"), "target_ratio": 0.9,
        "import_stages_s": {k: round(v, 2) for k, v in stages.items()},
        "created": outcome.plan.counts()["create"], "encoded": outcome.encoded,
        "reimport_s": round(again_watch.wall, 2), "reimport_unchanged": again.plan.counts()["unchanged"],
        "reimport_encoded": again.encoded, "conditions_before": before, "conditions_after": conditions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the encoder")
    parser.add_argument("--sample", type=int, default=None,
                        help="rows the encoder-alone passes encode (default: all; the rates per row are compared)")
    args = parser.parse_args()
    print(json.dumps(bench_import(args.rows, args.threads, args.sample), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
