"""Corrections for words of this domain that UniDic (unidic-lite 1.0.8 = UniDic 2.1.2) gets wrong, and the
words that may match but are never shown as a reason for a match.

Two tables, both applied after MeCab has tokenised the text:

* LEMMA_FIXES: a surface form whose lemma UniDic gives wrongly. UniDic reads
  シーズ as シー ("sea") + plural, which would match seeds to oceans.
* COMPOUNDS: runs of lemmas that the domain uses as one term. UniDic splits
  産学連携 into 産 + 学 + 連携; the parts stay as terms and the compound is
  added beside them, so 産学連携 matches itself more strongly than 連携 alone.

Add a row here when a test shows a domain word tokenised wrongly.

The display stop list (`display_stop_terms`, data in corpora/master/stopwords_ja.txt) is apart from
STOP_LEMMAS: STOP_LEMMAS keeps words out of the index, the stop list only keeps indexed words out of the
explanations. Words like 県 or 作る still count in BM25 (changing that would change every ranking), but
they never explain why a seed fits a need.
"""

import unicodedata
from functools import lru_cache
from pathlib import Path

STOP_LIST = Path(__file__).resolve().parents[1] / "corpora" / "master" / "stopwords_ja.txt"

LEMMA_FIXES: dict[str, str] = {
    "シーズ": "シーズ",
    "シース": "シーズ",  # NFKC leaves ｼｰｽﾞ as シーズ, but a dropped dakuten gives シース
    "ニーズ": "ニーズ",
    "ゲノム": "ゲノム",
    "バイオマス": "バイオマス",
}

COMPOUNDS: dict[tuple[str, ...], str] = {
    ("産", "学", "連携"): "産学連携",
    ("産", "学", "官", "連携"): "産学官連携",
    ("産学", "連携"): "産学連携",
    ("産学", "官", "連携"): "産学官連携",
    ("産学官", "連携"): "産学官連携",
    ("未", "利用"): "未利用",
    ("ゲノム", "編集"): "ゲノム編集",
    ("再生", "医療"): "再生医療",
    ("スマート", "農業"): "スマート農業",
    ("スマート", "林業"): "スマート林業",
    ("スマート", "セル"): "スマートセル",
    ("耐震", "補強"): "耐震補強",
    ("機能", "性", "食品"): "機能性食品",
    ("創", "薬"): "創薬",
    ("バイオ", "プラスチック"): "バイオプラスチック",
    ("バイオマス", "プラスチック"): "バイオマスプラスチック",
    ("陸上", "養殖"): "陸上養殖",
    ("技術", "移転"): "技術移転",
    ("イン", "バウンド"): "インバウンド",  # UniDic has no インバウンド: イン + バウンド (to bounce)
}

# Lemmas that carry no topic: light verbs and formal nouns.
STOP_LEMMAS: frozenset[str] = frozenset(
    """する ある いる なる できる 出来る れる られる せる させる 行う 思う 考える 言う 見る 持つ
    こと もの 物 事 ため 為 よう 様 ところ 所 これ それ あれ どれ 等 など 方 者 的 上 中 下 時 際 後 前
    場合 点 面 際 毎 度 他 ほか 以上 以下 以外 一 二 三 各 当 本 同 我々 当社 弊社 私 私たち 皆""".split()
)


@lru_cache(maxsize=4)
def display_stop_terms(path: Path = STOP_LIST) -> frozenset[str]:
    """The lemma keys of the stop list: one lemma a line, `#` starts a comment, blank lines ignored.

    Keys are folded as text.term_key folds lemmas (NFKC, lower case), so the list is written in plain UniDic
    lemmas. STOP_LEMMAS are in it too: they are never indexed, so they could only reach a list by a bug.
    """
    with open(path, encoding="utf-8") as f:
        lines = (line.split("#", 1)[0].strip() for line in f)
        listed = {unicodedata.normalize("NFKC", line).lower() for line in lines if line}
    return frozenset(listed | STOP_LEMMAS)
