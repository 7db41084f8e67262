"""`matcher report`: the batch cross-region report, written as html / xlsx / csv / pdf / json.

    matcher report --region 中部 --out var/reports/chubu --format html,xlsx,csv
    matcher report --prefecture 15 --prefecture 16 --market-area M3 --csv-encoding cp932 --cap 5

Registered in cli.py with one line (`app.command("report")(report)`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from .cli import DEFAULT_INDEX_DIR, CorpusDir, IndexDir, ModelDir, Threads, _open_engine, console, err_console, \
    progress_bar, user_errors
from .corpus import CORPUS_DIR
from .embed import DEFAULT_MODEL_DIR
from .errors import InvalidInputError
from .reports import DEFAULT_UNMET_THRESHOLD


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise InvalidInputError(f"{field}は YYYY-MM-DD の形で指定してください（指定: {value}）。") from e


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="出力フォルダ")] = Path("var/reports/latest"),
    formats: Annotated[str, typer.Option("--format", "-f", help="html,xlsx,csv,pdf,json（カンマ区切り）")] = "html,xlsx,csv,json",
    region: Annotated[list[str], typer.Option("--region", "-r", help="地域ブロック（複数可）")] = [],  # noqa: B006
    prefecture: Annotated[list[str], typer.Option("--prefecture", "-p", help="都道府県（複数可）")] = [],  # noqa: B006
    market_area: Annotated[list[str], typer.Option("--market-area", "-m", help="市場領域 M1〜M9（複数可）")] = [],  # noqa: B006
    since: Annotated[str, typer.Option(help="この日以降に登録されたニーズ（日付のあるニーズのみ）")] = "",
    until: Annotated[str, typer.Option(help="この日より前に登録されたニーズ")] = "",
    scope: Annotated[str, typer.Option("--scope", help="範囲をまとめて指定: region:中部,pref:15,area:M3")] = "",
    top_partners: Annotated[int, typer.Option(help="ニーズごとに示す連携先の数")] = 5,
    flow_partners: Annotated[int, typer.Option(help="地域間の流れに数える連携先の数（ニーズごと）")] = 3,
    threshold: Annotated[float, typer.Option(help="未充足とみなす内容の近さ（最良シーズのコサイン）")] = DEFAULT_UNMET_THRESHOLD,
    cap: Annotated[int, typer.Option(help="上限付き割り当て: 1大学あたりのニーズ数（0 = 行わない）")] = 0,
    mode: Annotated[str, typer.Option(help="dense（一括、既定）/ hybrid（語の一致を含む、ニーズごとに検索）")] = "dense",
    csv_encoding: Annotated[str, typer.Option(help="utf-8-sig（BOM付き、既定）/ cp932（表せない文字は〓に置換）")] = "utf-8-sig",
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """地域を越えた連携のレポート（地域間の流れ、地域内で閉じる度合い、未充足のニーズ、地図）を作る。"""
    from .report_render import parse_formats, render_report
    from .reports import ReportOptions, ReportScope, compute_report

    with user_errors():
        wanted = parse_formats(formats)
        regions, prefs, areas = list(region), list(prefecture), list(market_area)
        for part in (p.strip() for p in scope.split(",") if p.strip()):
            kind, _, value = part.partition(":")
            target = {"region": regions, "pref": prefs, "prefecture": prefs, "area": areas}.get(kind.strip())
            if target is None or not value:
                raise InvalidInputError(f"--scope は region:…, pref:…, area:… の形で指定してください（指定: {part}）。")
            target.append(value.strip())
        report_scope = ReportScope(regions=tuple(regions), prefectures=tuple(prefs), market_areas=tuple(areas),
                                   since=_date(since, "--since"), until=_date(until, "--until"))
        options = ReportOptions(top_partners=top_partners, flow_partners=flow_partners, unmet_threshold=threshold,
                                assignment_cap=cap or None, mode=mode)
        engine, _, _ = _open_engine(model_dir, index_dir, corpus_dir, threads)
        with progress_bar() as update:
            result = compute_report(engine, report_scope, options, progress=update)
            rendered = render_report(result, out, wanted, csv_encoding=csv_encoding, progress=update)
    s = result.silo
    console.print(f"範囲: {result.meta.scope}  ニーズ {result.meta.needs} 件 × シーズ {result.meta.seeds} 件")
    console.print(f"最良の連携先が地域外: {s.crossing}/{s.needs} 件（{s.share_crossing:.1%}）  "
                  f"越えた場合の平均スコア向上 {s.mean_gain_crossing:+.3f}  未充足 {sum(n.unmet for n in result.needs)} 件")
    if rendered.replaced_chars:
        err_console.print(f"[yellow]注意:[/yellow] cp932 で表せない文字 {rendered.replaced_chars} 個を「〓」に置き換えました。")
    for path in rendered.files:
        console.print(f"  {path}")


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
    import json

    from .bench_report import report_scale

    with user_errors(), progress_bar() as update:
        result = report_scale(needs=needs, seeds=seeds, kaken=kaken, candidates=candidates, threads=threads,
                              cap=cap or None, progress=update)
    print(json.dumps(result, ensure_ascii=False, indent=2))


def _register() -> None:
    from .cli import app, bench_app

    app.command("report")(report)
    bench_app.command("report-scale")(bench_report_scale)


_register()
