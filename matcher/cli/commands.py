"""The command-line app, built by registering each module's commands explicitly.

No command module touches the app when imported: the list below is the one
place that says which commands exist, under which names, in which order
(the order `--help` shows).
"""

from __future__ import annotations

import typer

from .bench import (
    bench_encoders,
    bench_index,
    bench_need2univ,
    bench_report_scale,
    bench_retrieval,
    bench_scale,
    bench_similarity,
)
from .bench_explain import bench_explain
from .demo_vectors import demo_vectors
from .match import demo, index, match, needs_for_seed, setup_model
from .report import report
from .setup_encoder import setup_encoder
from .train_ranker import train_ranker


def build_app() -> typer.Typer:
    app = typer.Typer(help="産学官連携 ニーズ・シーズ マッチングエンジン", no_args_is_help=True, add_completion=False)
    app.command("setup-model")(setup_model)
    app.command("setup-encoder")(setup_encoder)
    app.command("index")(index)
    app.command("match")(match)
    app.command("needs-for-seed")(needs_for_seed)
    app.command("demo")(demo)
    app.command("demo-vectors")(demo_vectors)
    app.command("report")(report)
    app.command("train-ranker")(train_ranker)

    bench_app = typer.Typer(help="ベンチマーク（結果はJSONで出力）", no_args_is_help=True)
    bench_app.command("similarity")(bench_similarity)
    bench_app.command("retrieval")(bench_retrieval)
    bench_app.command("need2univ")(bench_need2univ)
    bench_app.command("report-scale")(bench_report_scale)
    bench_app.command("index")(bench_index)
    bench_app.command("explain")(bench_explain)
    bench_app.command("scale")(bench_scale)
    bench_app.command("encoders")(bench_encoders)
    app.add_typer(bench_app, name="bench")
    return app
