"""`matcher bench …`: the benchmarks, each printing its figures as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..embed import DEFAULT_MODEL_DIR
from .common import ROOT, ModelDir, Threads, load_encoder, print_json, progress_bar, user_errors


def bench_similarity(file: Path, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0) -> None:
    """文ペアの類似度（JSTS形式）: Spearman 相関。"""
    from .. import bench

    print_json(bench.similarity(file, load_encoder(model_dir, threads)))


def bench_retrieval(folder: Path, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
                    candidates: int = 100) -> None:
    """BEIR形式の検索: dense・BM25・ハイブリッドの R@1, R@10, MRR@10, nDCG@10。"""
    from .. import bench

    # dense weights around the engine's default (rank.DEFAULT_DENSE_WEIGHT), to show it is still the best
    print_json(bench.retrieval(folder, load_encoder(model_dir, threads), candidates=candidates,
                               dense_weights=(0.3, 0.4, 0.5, 0.6, 0.7)))


def bench_need2univ(
    queries: Annotated[Path, typer.Option(help="queries.jsonl と qrels.tsv のあるフォルダ")],
    seeds: Annotated[Path, typer.Option(help="シーズ（_id, title, institution）のJSONL")],
    cache_dir: Annotated[Path, typer.Option(help="シーズ索引のキャッシュ")] = ROOT / ".bench-cache",
    model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """ニーズ→大学: エンジンと人気度ベースラインの nDCG@10, R@10。"""
    from .. import bench

    with progress_bar() as update:
        result = bench.need2univ(queries, seeds, load_encoder(model_dir, threads), cache_dir=cache_dir,
                                 progress=update)
    print_json(result)


def bench_report_scale(
    needs: Annotated[int, typer.Option(help="ニーズの数（ベクトルは乱数の単位ベクトル）")] = 10_000,
    seeds: Annotated[int, typer.Option(help="シーズの数（実データの不足分は合成）")] = 100_000,
    kaken: Annotated[Path, typer.Option(help="実シーズの JSONL（_id, title, institution, prefecture_code）")] =
        Path("../shared/data/kaken/seeds.jsonl"),
    candidates: Annotated[int, typer.Option(help="1ニーズあたりの候補シーズ数")] = 1000,
    threads: Annotated[int, typer.Option(help="FAISS のスレッド数（0 = 既定）")] = 0,
    cap: Annotated[int, typer.Option(help="上限付き割り当ても測る（0 = 測らない）")] = 0,
) -> None:
    """レポートの一括処理の速さ: ニーズ×シーズ（既定 10,000 × 100,000）。JSON で出力。"""
    from ..bench_report import report_scale

    with user_errors(), progress_bar() as update:
        result = report_scale(needs=needs, seeds=seeds, kaken=kaken, candidates=candidates, threads=threads,
                              cap=cap or None, progress=update)
    print_json(result)


def bench_index(
    sizes: Annotated[list[int], typer.Option("--size", help="項目数（何度でも指定可）")] = [10_000, 100_000],  # noqa: B006
    samples: Annotated[int, typer.Option(help="1件更新を測る回数")] = 200,
) -> None:
    """索引の書き込み経路: 1件更新・書き込み後の初回検索・BM25 のマージ・スナップショットの時間（JSON）。"""
    from ..bench_index import run

    print_json(run(sizes, samples=samples))
