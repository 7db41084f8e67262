"""`matcher bench …`: the benchmarks, each printing its figures as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..ann import KINDS, AnnSettings
from ..embed import DEFAULT_MODEL_DIR
from .common import ROOT, ModelDir, Threads, err_console, load_encoder, print_json, progress_bar, user_errors


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


# need2univ's options, shared with `matcher train-ranker` (cli/train_ranker.py)
Queries = Annotated[Path, typer.Option(help="queries.jsonl と qrels.tsv のあるフォルダ（学習に使う組）")]
Seeds = Annotated[Path, typer.Option(help="シーズ（_id, title, institution）のJSONL")]
NoTop10Queries = Annotated[Path | None, typer.Option(help="同じニーズの、最大の大学を除いた組（dev-notop10）")]
NoTop10Seeds = Annotated[Path | None, typer.Option(help="その組のシーズ（seeds-notop10.jsonl）")]
Folds = Annotated[int, typer.Option(help="交差検証の分割数（事業ごとに分ける）")]
CacheDir = Annotated[Path, typer.Option(help="シーズ索引のキャッシュ")]
BENCH_CACHE = ROOT / ".bench-cache"


def bench_need2univ(
    queries: Queries, seeds: Seeds, notop10_queries: NoTop10Queries = None, notop10_seeds: NoTop10Seeds = None,
    folds: Folds = 5, cache_dir: CacheDir = BENCH_CACHE, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """ニーズ→大学: 固定の規則・人気度・学習した順位付けの nDCG@10, R@10（分割ごとの平均 ± 標準偏差）と、既定の判定。"""
    from .. import bench

    notop10 = notop10_pair(notop10_queries, notop10_seeds)
    with user_errors(), progress_bar() as update:
        result = bench.need2univ(queries, seeds, load_encoder(model_dir, threads), notop10=notop10, folds=folds,
                                 cache_dir=cache_dir, progress=update)
    print_json(result)
    decision = result.get("decision")
    if isinstance(decision, dict):
        err_console.print(f"[bold]判定:[/bold] {decision['summary']}")


def notop10_pair(queries: Path | None, seeds: Path | None) -> tuple[Path, Path] | None:
    if (queries is None) != (seeds is None):
        raise typer.BadParameter("--notop10-queries と --notop10-seeds は両方を指定してください。")
    return (queries, seeds) if queries is not None and seeds is not None else None


def bench_report_scale(
    needs: Annotated[int, typer.Option(help="ニーズの数（ベクトルは乱数の単位ベクトル）")] = 10_000,
    seeds: Annotated[int, typer.Option(help="シーズの数（実データの不足分は合成）")] = 100_000,
    kaken: Annotated[Path, typer.Option(help="実シーズの JSONL（_id, title, institution, prefecture_code）")] =
        Path("../shared/data/kaken/seeds.jsonl"),
    candidates: Annotated[int, typer.Option(help="1ニーズあたりの候補シーズ数")] = 1000,
    threads: Annotated[int, typer.Option(help="FAISS のスレッド数（0 = 既定）")] = 0,
    cap: Annotated[int, typer.Option(help="上限付き割り当ても測る（0 = 測らない）")] = 0,
    shards: Annotated[int, typer.Option(help="シャード数（2以上で Ray のワーカーが分担。ローカルに起動）")] = 1,
) -> None:
    """レポートの一括処理の速さ: ニーズ×シーズ（既定 10,000 × 100,000）。JSON で出力。"""
    from ..bench_report import report_scale

    with user_errors(), progress_bar() as update:
        result = report_scale(needs=needs, seeds=seeds, kaken=kaken, candidates=candidates, threads=threads,
                              cap=cap or None, shards=shards, progress=update)
    print_json(result)


def bench_index(
    sizes: Annotated[list[int], typer.Option("--size", help="項目数（何度でも指定可）")] = [10_000, 100_000],  # noqa: B006
    samples: Annotated[int, typer.Option(help="1件更新を測る回数")] = 200,
) -> None:
    """索引の書き込み経路: 1件更新・書き込み後の初回検索・BM25 のマージ・スナップショットの時間（JSON）。"""
    from ..bench_index import run

    print_json(run(sizes, samples=samples))


def bench_scale(
    seeds: Annotated[int, typer.Option(help="シーズの数（不足分は合成。ベクトルは合成）")] = 100_000,
    kaken: Annotated[Path, typer.Option(help="実シーズの JSONL（_id, title, institution, prefecture_code）")] =
        Path("../shared/data/kaken/seeds.jsonl"),
    queries: Annotated[int, typer.Option(help="照合するニーズの数（デモのニーズを繰り返す）")] = 121,
    encode: Annotated[bool, typer.Option(help="実モデルでクエリの埋め込み時間も測る")] = True,
    vectors: Annotated[str, typer.Option(help="合成ベクトル: clustered（実ベクトルを中心に分布させる）・random")] =
        "clustered",
    ann_threshold: Annotated[int, typer.Option(help="この件数以上で近似索引（IVF）を使う")] = AnnSettings.threshold,
    ann_kind: Annotated[str, typer.Option(help="近似索引の種類: ivf-sq8・ivf-flat")] = AnnSettings.kind,
    target_recall: Annotated[float, typer.Option(help="構築時に nprobe を選ぶ再現率の目標")] =
        AnnSettings.target_recall,
    recall_k: Annotated[int, typer.Option(help="その再現率を測る上位件数（dense 候補）")] = AnnSettings.recall_k,
    ann_max_probe_share: Annotated[float, typer.Option(
        help="探索するリストの割合がこれを超える近似索引は使わない（1 = 常に使う）")] = AnnSettings.max_probe_share,
    calibration_needs: Annotated[int, typer.Option(
        help="連携先リストの再現率で nprobe を選ぶのに使うニーズの数（0 = 選ばない）")] = 30,
    dense_only: Annotated[bool, typer.Option(
        help="エンジンを作らず、近似索引だけを nprobe ごとに測る（再現率と1検索の時間）")] = False,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """1件のニーズ→連携先の速さ（埋め込みを除くエンジン、範囲ごと）、近似索引の再現率、シーズ1件あたりのメモリ（JSON）。"""
    from ..bench_scale import run

    if ann_kind not in KINDS or vectors not in ("clustered", "random"):
        raise typer.BadParameter(f"--ann-kind は {'・'.join(KINDS)}、--vectors は clustered・random のいずれかです。")
    ann = AnnSettings(threshold=ann_threshold, kind=ann_kind, target_recall=target_recall, recall_k=recall_k,
                      max_probe_share=ann_max_probe_share)
    if dense_only:
        from ..bench_ann import dense_sweep

        print_json(dense_sweep(seeds, ann))
        return
    with user_errors():
        print_json(run(seeds, kaken=kaken, queries=queries, vectors=vectors, ann=ann,
                       calibration_needs=calibration_needs,
                       encoder_factory=(lambda: load_encoder(model_dir, threads)) if encode else None))


def bench_encoders(
    jsts: Annotated[Path, typer.Option(help="JSTS 形式の文ペア（JSONL）")] = Path("../shared/data/jsts/valid.jsonl"),
    jsquad: Annotated[Path, typer.Option(help="JSQuAD の BEIR 形式フォルダ")] = Path("../shared/data/jsquad/valid"),
    needs: Annotated[Path, typer.Option(help="クエリの時間を測るニーズ（先頭の1件を250文字に）")] =
        ROOT / "corpora" / "needs.jsonl",
    backends: Annotated[list[str] | None,
                        typer.Option("--backend", help="測る実行方式（何度でも指定可。既定 = すべて）")] = None,
    jsquad_queries: Annotated[int, typer.Option(help="JSQuAD の質問を固定の乱数で抜き出す数（0 = すべて）")] = 0,
    rounds: Annotated[int, typer.Option(help="速さを測る周回数（各周で実行方式ごとに --per-round 件）")] = 5,
    per_round: Annotated[int, typer.Option(help="1周で1つの実行方式が符号化するクエリ数")] = 10,
    passages: Annotated[int, typer.Option(help="処理量（バッチ32）を測るパッセージ数")] = 128,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Annotated[int, typer.Option(help="推論スレッド数")] = 2,
) -> None:
    """埋め込みの実行方式（PyTorch・OpenVINO・int8）ごとのクエリ符号化の速さと JSTS・JSQuAD の品質（JSON）。"""
    from ..bench_encoders import run
    from ..encoder_backends import BACKENDS

    with user_errors():
        print_json(run(model_dir, jsts=jsts, jsquad=jsquad, needs=needs, backends=backends or tuple(BACKENDS),
                       threads=threads, jsquad_queries=jsquad_queries, rounds=rounds, per_round=per_round,
                       passages=passages, log=err_console.print))
