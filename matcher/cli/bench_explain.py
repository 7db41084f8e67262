"""`matcher bench explain`: the shared terms shown on results pages, checked (matcher/bench_explain.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..corpus import CORPUS_DIR
from ..embed import DEFAULT_MODEL_DIR
from .common import ModelDir, Threads, load_encoder, print_json, progress_bar, user_errors


def bench_explain(
    corpus_dir: Annotated[Path, typer.Argument(help="コーパスのフォルダ（corpora/ と同じ構成）")] = CORPUS_DIR,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="1ニーズあたりの連携先の数")] = 10,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """共通する語の検査: ストップリスト・つなぎの語に当たる割合（目標 0）と、原文どおりの割合（目標 100%）。"""
    from ..bench_explain import run

    with user_errors(), progress_bar() as update:
        result = run(corpus_dir, load_encoder(model_dir, threads), top_k=top_k, progress=update)
    print_json(result)
