"""Normalisation and tokenisation. Dictionary: unidic-lite 1.0.8 (UniDic 2.1.2), fugashi 1.5."""

import pytest

from matcher.errors import EmptyTextError, TextTooLongError
from matcher.text import check_text, default_tokenizer, normalize, normalize_with_offsets


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width ASCII
        ("ｼｰｽﾞ", "シーズ"),  # half-width katakana, voiced mark joined
        ("ｶﾞｽ化", "ガス化"),
        ("産学官　連携", "産学官 連携"),  # ideographic space
        ("10〜20年", "10~20年"),  # wave dash
        ("ＤＸ\u200b推進", "dx推進"),  # zero-width space dropped
        ("  前後の空白  ", "前後の空白"),
        ("①ニーズ", "1ニーズ"),
        ("㈱テスト", "(株)テスト"),
    ],
)
def test_normalize(raw, key):
    assert normalize(raw) == key


def test_offsets_point_back_into_the_original():
    raw = "ｶﾞｽ化とＩｏＴ"
    folded, origin = normalize_with_offsets(raw)
    assert folded == "ガス化とIoT"
    assert len(origin) == len(folded)
    assert raw[origin[0]] == "ｶ" and raw[origin[folded.index("I")]] == "Ｉ"


TERMS = [
    # (text, terms that must appear, terms that must not)
    ("研究シーズと地域ニーズ", {"シーズ", "ニーズ", "研究", "地域"}, {"シー"}),
    ("ｼｰｽﾞを探す", {"シーズ"}, {"シー"}),
    ("産学連携を進める", {"産学連携", "連携", "進める"}, {"を"}),
    ("産学官連携の窓口", {"産学官連携", "窓口"}, {"の"}),
    ("未利用バイオマスのガス化", {"未利用", "バイオマス", "ガス"}, {"の", "化"}),
    ("ゲノム編集技術で育種する", {"ゲノム編集", "ゲノム", "育種"}, {"で", "する"}),
    ("稲わらともみ殻", {"稲藁", "籾殻"}, {"と"}),  # kana and kanji spellings share a lemma
    ("ＤＸとIoTを導入したい", {"dx", "iot", "導入"}, {"たい", "した"}),
    ("再生医療とスマートセル", {"再生医療", "スマートセル"}, set()),
    ("これはそのためのものである。", set(), {"これ", "ため", "もの", "ある", "。"}),
]


@pytest.mark.parametrize(("text", "present", "absent"), TERMS)
def test_content_terms(text, present, absent):
    terms = set(default_tokenizer().terms(text))
    assert present <= terms, terms
    assert not (absent & terms), terms


def test_token_spans_cover_the_original_surface():
    text = "ｼｰｽﾞと産学連携"
    for token in default_tokenizer().tokens(text):
        assert text[token.start : token.end] == token.surface
    compound = [t for t in default_tokenizer().tokens(text) if t.term == "産学連携"]
    assert compound and compound[0].surface == "産学連携"


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", None])
def test_empty_text_is_rejected_in_japanese(bad):
    with pytest.raises(EmptyTextError, match="空です"):
        check_text(bad, field="本文", max_chars=100)


def test_overlong_text_is_rejected_in_japanese():
    with pytest.raises(TextTooLongError, match="長すぎます"):
        check_text("あ" * 101, field="本文", max_chars=100)
    assert check_text("あ" * 100, field="本文", max_chars=100)
