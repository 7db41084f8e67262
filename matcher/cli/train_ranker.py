"""`matcher train-ranker`: retrain the stored partner ranker (models/ranker/) from judged needs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..embed import DEFAULT_MODEL_DIR
from ..ranker.model import MODEL_DIR
from ..ranker.train import DEFAULT_L2
from .bench import BENCH_CACHE, CacheDir, Folds, NoTop10Queries, NoTop10Seeds, Queries, Seeds, notop10_pair
from .common import ModelDir, Threads, err_console, load_encoder, print_json, progress_bar, user_errors


def train_ranker(
    queries: Queries, seeds: Seeds, notop10_queries: NoTop10Queries = None, notop10_seeds: NoTop10Seeds = None,
    folds: Folds = 5,
    l2: Annotated[float, typer.Option(help="L2 正則化の強さ")] = DEFAULT_L2,
    out: Annotated[Path, typer.Option(help="モデル（ranker.json）とモデルカード（README.md）の保存先")] = MODEL_DIR,
    cache_dir: CacheDir = BENCH_CACHE, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """学習した順位付けを作り直す: 事業ごとの交差検証で評価し、全ニーズで学習して保存（モデルカード付き）。"""
    from ..bench import judged_set
    from ..ranker.retrain import retrain, write

    notop10 = notop10_pair(notop10_queries, notop10_seeds)
    started = time.perf_counter()
    with user_errors(), progress_bar() as update:
        encoder = load_encoder(model_dir, threads)
        sets = [judged_set(queries, seeds, encoder, cache_dir=cache_dir, progress=update)]
        if notop10 is not None:
            sets.append(judged_set(*notop10, encoder, cache_dir=cache_dir, progress=update))
    retrained = retrain(sets, folds=folds, l2=l2)
    written = write(retrained, out)
    print_json({"written": [str(p) for p in written], "features": list(retrained.model.features),
                "weights": dict(zip(retrained.model.features, retrained.model.weights, strict=True)),
                "seconds": {**{s.name: {k: v for k, v in s.info.items() if k.endswith("_seconds")} for s in sets},
                            **retrained.seconds, "total": round(time.perf_counter() - started, 1)},
                "decision": retrained.decision.to_json() if retrained.decision else None})
    if retrained.decision is not None:
        err_console.print(f"[bold]判定:[/bold] {retrained.decision.summary}")
