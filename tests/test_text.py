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


# (text, surface, its lemma key, UniDic's pos2-pos3): a token keeps the writer's characters beside the lemma
SURFACES = [
    ("アカモクの養殖", "アカモク", "赤藻屑", "普通名詞-一般"),
    ("石場建て", "石場", "イシバ", "固有名詞-人名"),
    ("駿河湾", "駿河", "スルガ", "固有名詞-地名"),
    ("タンパク質", "タンパク", "蛋白", "普通名詞-一般"),
    ("傷めずに運ぶ", "傷め", "痛める", "一般"),
    ("年に一度", "年", "年", "普通名詞-助数詞可能"),  # 副詞可能 in other contexts: both are filler
    ("二十件", "二十", "二十", "数詞"),
]


@pytest.mark.parametrize(("text", "surface", "term", "detail"), SURFACES)
def test_tokens_keep_their_surface_lemma_and_part_of_speech(text, surface, term, detail):
    token = next(t for t in default_tokenizer().tokens(text) if t.surface == surface)
    assert (token.term, text[token.start:token.end], token.pos_detail) == (term, surface, detail)
