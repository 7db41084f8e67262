"""The model card of the stored ranker (models/ranker/README.md), written from the model and its figures.

Generated, never edited by hand, so that the figures in it are the ones the model was trained with.
"""

from __future__ import annotations

from ..rank import CONTENT_RULE, SORTS
from .cv import LEARNED, LEARNED_CONTENT, POPULARITY, CrossValidation
from .decision import Decision
from .features import SIGNAL_OF
from .model import LinearRanker

SIGNAL_NAMES = {"content": "内容の近さ", "capacity": "実績・体制", "place": "場所"}
METHOD_NAMES = {
    LEARNED: "**学習した順位付け（総合）**",
    LEARNED_CONTENT: "学習した順位付けの「内容の近さ」の寄与だけ（参考）",
    POPULARITY: "人気度（シーズ数順）",
    "dense_sum": "dense_sum（参照: dense の和、エンジンの設定にはない）",
}


def _method_name(method: str, default: str | None) -> str:
    """The method's name in the table, marked where the engine's sorts use it (総合: the decision's default)."""
    name = METHOD_NAMES.get(method, method)
    uses = [SORTS[sort] for sort, rule in (("overall", default), ("content", CONTENT_RULE)) if rule == method]
    return f"{name}（エンジンの{'・'.join(uses)}）" if uses else name


def _cv_table(cv: CrossValidation, default: str | None = None) -> list[str]:
    names = list(cv.figures)
    lines = ["| 方式 | " + " | ".join(f"{n} nDCG@10 | {n} R@10" for n in names) + " |",
             "|---|" + "---|---|" * len(names)]
    methods = list(cv.figures[names[0]])
    for method in methods:
        cells = []
        for name in names:
            figures = cv.figures[name].get(method)
            cells += ([f"{figures[m].mean:.3f} ± {figures[m].std:.3f}" for m in ("nDCG@10", "R@10")]
                      if figures else ["–", "–"])
        lines.append(f"| {_method_name(method, default)} | " + " | ".join(cells) + " |")
    return lines


def _feature_table(model: LinearRanker) -> list[str]:
    lines = ["| 特徴量 | 信号 | 重み（標準化後） | 平均 | 尺度 |", "|---|---|---|---|---|"]
    order = sorted(range(len(model.features)), key=lambda i: -abs(model.weights[i]))
    for i in order:
        f = model.features[i]
        lines.append(f"| `{f}` | {SIGNAL_NAMES[SIGNAL_OF[f]]} | {model.weights[i]:+.4f} | "
                     f"{model.mean[i]:.4g} | {model.scale[i]:.4g} |")
    return lines


def engine_use(decision: Decision) -> str:
    """What the engine's two sorts order by under `decision` (matcher/rank.py, sort_rule)."""
    if decision.learned_adopted:
        overall = "このモデルのスコア（内容の近さと実績・体制の寄与の和）"
    else:
        overall = f"固定の規則 `{decision.default}`（このモデルはエンジンでは使いません）"
    return (f"並べ替え「総合」（既定）は{overall}、「内容重視」は `{CONTENT_RULE}`（最も近いシーズ1件のスコアだけ）で"
            "並べます（`matcher/rank.py` の `sort_rule`。画面・API・レポートで同じ）。"
            "どちらでも、シーズ数（実績・体制）は候補ごとに別に示します。")


def model_card(model: LinearRanker, cv: CrossValidation, decision: Decision | None) -> str:
    info = model.info
    trained = info.get("trained_on", {})
    sizes = "; ".join(f"{name}: {', '.join(map(str, s))}" for name, s in cv.fold_sizes.items())
    lines = [
        "# 学習した順位付け（ニーズ → 大学）のモデルカード",
        "",
        "`matcher train-ranker` が書き出したファイルです（手で直さないでください）。モデルは `ranker.json`。",
        "",
        "## モデル",
        "",
        f"- 線形のスコア: 標準化した特徴量 {len(model.features)} 個の重み付き和（`matcher/ranker/model.py`）。"
        "和なので「内容の近さ」と「実績・体制」の寄与にそのまま分かれます"
        "（表の「内容の近さの寄与だけ」は前者だけで並べた順）。",
        f"- 目的関数: {info.get('objective')}、L2 = {info.get('l2')}（分割を見る前に決めた値）。"
        f"ペア {info.get('pairs')} 組、ニーズ {info.get('needs_with_pairs')} 件、L-BFGS {info.get('iterations')} 回"
        f"（収束: {info.get('converged')}）。乱数を使わず、同じデータからは同じモデルになります。",
        f"- 学習データ: `{trained.get('queries_dir')}` の全ニーズ {trained.get('needs')} 件、"
        f"シーズ `{trained.get('seeds')}`（{trained.get('seed_count')} 件、{trained.get('universities')} 大学）。"
        "候補は各検索方式の上位 1,000 件の和集合（エンジンと同じ検索）、候補に入った大学だけを順位付けします。",
        "- 場所の特徴量（`in_region`, `distance_log`）は計算しますが、モデルには入れていません: need2univ のニーズは"
        "国の省庁のもので場所がなく、重みを学べないためです。"
        "市場領域も、KAKEN のシーズにもニーズにもないので使えません。",
        "",
        "## 特徴量と重み",
        "",
        *_feature_table(model),
        "",
        "## 交差検証",
        "",
        f"{cv.k} 分割、事業（project）ごとに分けます（同じ事業の文が学習と評価の両方に入ることはありません）。"
        "分割は全組の事業名のハッシュ順に配るので、どの組でも同じ事業は同じ分割に入ります。"
        f"学習は最初の組の他の分割で行い、どの方式も同じ分割で評価します。分割ごとのニーズ数: {sizes}。"
        "数値は分割ごとの値の平均 ± 標本標準偏差です。",
        "",
        *_cv_table(cv, decision.default if decision else None),
        "",
    ]
    if decision is not None:
        lines += ["## 判定", "", decision.summary, ""]
        lines += [f"- {t.words()}（分割ごとの差の標準偏差 {t.paired_std:.4f}）" for t in decision.tests]
        lines += ["", "## エンジンでの使い方", "", engine_use(decision), ""]
    lines += ["## 作り直し", "", "```sh",
              ".venv/bin/matcher train-ranker --queries ../shared/data/need2univ/dev "
              "--seeds ../shared/data/kaken/seeds.jsonl \\",
              "    --notop10-queries ../shared/data/need2univ/dev-notop10 "
              "--notop10-seeds ../shared/data/kaken/seeds-notop10.jsonl",
              "```", ""]
    return "\n".join(lines)
