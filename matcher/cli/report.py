"""`matcher report`: the batch cross-region report, written as html / xlsx / csv / pdf / json.

    matcher report --region 中部 --out var/reports/chubu --format html,xlsx,csv
    matcher report --prefecture 15 --prefecture 16 --market-area M3 --csv-encoding cp932 --cap 5
    matcher report --shards 8 --ray-address auto      # the seeds in 8 shards on a Ray cluster (docs/scale-out.md)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ..corpus import CORPUS_DIR
from ..embed import DEFAULT_MODEL_DIR
from ..errors import InvalidInputError
from ..reports import DEFAULT_UNMET_THRESHOLD, ReportOptions, ReportScope, compute_report
from .common import (
    DEFAULT_INDEX_DIR,
    CorpusDir,
    IndexDir,
    ModelDir,
    Threads,
    console,
    err_console,
    open_engine,
    progress_bar,
    user_errors,
)

# `--scope` kinds, each naming the list of ReportScope it adds to
SCOPE_KINDS = {"region": "regions", "pref": "prefectures", "prefecture": "prefectures", "area": "market_areas"}


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="出力フォルダ")] = Path("var/reports/latest"),
    formats: Annotated[
        str, typer.Option("--format", "-f", help="html,xlsx,csv,pdf,json（カンマ区切り）")] = "html,xlsx,csv,json",
    region: Annotated[list[str], typer.Option("--region", "-r", help="地域ブロック（複数可）")] = [],  # noqa: B006
    prefecture: Annotated[list[str], typer.Option("--prefecture", "-p", help="都道府県（複数可）")] = [],  # noqa: B006
    market_area: Annotated[list[str], typer.Option("--market-area", "-m", help="市場領域 M1〜M9（複数可）")] = [],  # noqa: B006
    since: Annotated[str, typer.Option(help="この日以降に登録されたニーズ（日付のあるニーズのみ）")] = "",
    until: Annotated[str, typer.Option(help="この日より前に登録されたニーズ")] = "",
    scope: Annotated[str, typer.Option("--scope", help="範囲をまとめて指定: region:中部,pref:15,area:M3")] = "",
    top_partners: Annotated[int, typer.Option(help="ニーズごとに示す連携先の数")] = 5,
    flow_partners: Annotated[int, typer.Option(help="地域間の流れに数える連携先の数（ニーズごと）")] = 3,
    threshold: Annotated[
        float, typer.Option(help="内容の近さ（最良シーズのコサイン）がこの値未満なら未充足とする")
    ] = DEFAULT_UNMET_THRESHOLD,
    cap: Annotated[int, typer.Option(help="上限付き割り当て: 1大学あたりのニーズ数（0 = 行わない）")] = 0,
    mode: Annotated[
        str, typer.Option(help="hybrid（照合 match と同じスコア、既定）/ dense（埋め込みのみ、比較用）")] = "hybrid",
    sort: Annotated[str, typer.Option(help="overall（総合、既定）/ content（内容重視: 最も近いシーズだけで並べる）")] =
        "overall",
    csv_encoding: Annotated[
        str, typer.Option(help="utf-8-sig（BOM付き、既定）/ cp932（表せない文字は〓に置換）")] = "utf-8-sig",
    shards: Annotated[int, typer.Option(
        help="シーズを分けるシャード数（2以上で Ray のワーカーが分担して検索。結果は1と同じ）")] = 1,
    ray_address: Annotated[str, typer.Option(
        help="Ray クラスタのアドレス（auto / ray://ホスト:10001 など。空なら既存のクラスタか、新たに起動）")] = "",
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """地域を越えた連携のレポート（地域間の流れ、地域内で閉じる度合い、未充足のニーズ、地図）を作る。"""
    from ..report_render import parse_formats, render_report

    with user_errors():
        wanted = parse_formats(formats)
        report_scope = _scope(region, prefecture, market_area, scope, since, until)
        options = ReportOptions(top_partners=top_partners, flow_partners=flow_partners, unmet_threshold=threshold,
                                assignment_cap=cap or None, mode=mode, sort=sort)
        engine, _, _ = open_engine(model_dir, index_dir, corpus_dir, threads)
        with progress_bar() as update:
            result = compute_report(engine, report_scope, options, progress=update, shards=shards,
                                    ray_address=ray_address or None)
            rendered = render_report(result, out, wanted, csv_encoding=csv_encoding, progress=update)
    s = result.silo
    console.print(f"範囲: {result.meta.scope}  ニーズ {result.meta.needs} 件 × シーズ {result.meta.seeds} 件")
    unmet = sum(n.unmet for n in result.needs)
    console.print(f"最良の連携先が地域外: {s.crossing}/{s.needs} 件（{s.share_crossing:.1%}）  "
                  f"越えた場合の平均スコア向上 {s.mean_gain_crossing:+.3f}  未充足 {unmet} 件")
    if rendered.replaced_chars:
        err_console.print(f"[yellow]注意:[/yellow] cp932 で表せない文字 {rendered.replaced_chars} 個を"
                          "「〓」に置き換えました。")
    for path in rendered.files:
        console.print(f"  {path}")


def _scope(regions: list[str], prefectures: list[str], market_areas: list[str], combined: str, since: str,
           until: str) -> ReportScope:
    """The report's scope from the separate options and from `--scope region:…,pref:…,area:…`."""
    lists = {"regions": list(regions), "prefectures": list(prefectures), "market_areas": list(market_areas)}
    for part in (p.strip() for p in combined.split(",") if p.strip()):
        kind, _, value = part.partition(":")
        target = SCOPE_KINDS.get(kind.strip())
        if target is None or not value:
            raise InvalidInputError(f"--scope は region:…, pref:…, area:… の形で指定してください（指定: {part}）。")
        lists[target].append(value.strip())
    return ReportScope(regions=tuple(lists["regions"]), prefectures=tuple(lists["prefectures"]),
                       market_areas=tuple(lists["market_areas"]), since=_date(since, "--since"),
                       until=_date(until, "--until"))


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise InvalidInputError(f"{field}は YYYY-MM-DD の形で指定してください（指定: {value}）。") from e
