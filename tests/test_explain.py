"""The evidence beside a score: shared terms in each text's own words, ranked by their part of BM25; the
seeds a partner lists; closeness bands; partner names, region and distance."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.domain_terms import STOP_LIST, display_stop_terms
from matcher.explain import Explainer, listed_seeds, partner_name, relation
from matcher.explain_terms import TextTerms, TextTermsCache, explainable, is_filler, shown, spans, telling
from matcher.lexical import BM25Index
from matcher.places import Location, default_places
from matcher.rank import Ranked, SeedScore
from matcher.records import Need, Researcher, Seed, University
from matcher.reports import DEFAULT_UNMET_THRESHOLD
from matcher.results import CLOSENESS_BANDS, Span, closeness_band
from matcher.text import Token, default_tokenizer

ROOT = Path(__file__).resolve().parents[1]
UNIVERSITY = University(name="静岡大学", prefecture_code="22")
# texts that share nothing with the tables below: they make the shared terms rare (high idf), as in a corpus
OTHERS = ["半導体の微細加工と露光装置", "高齢者の見守りと訪問看護", "豪雨時の河川の氾濫予測", "乳牛の分娩監視カメラ",
          "木造住宅の耐震診断", "茶園の摘採作業の自動化", "ワクチンの凍結乾燥製剤", "観光客の混雑の可視化",
          "溶接ロボットのビード検査", "森林資源のドローン計測"]


def explainer_over(seeds: list[Seed], need_text: str, *, limit: int = 8, min_idf: float = 1.5,
                   floor: float = 0.75, texts: TextTermsCache | None = None) -> Explainer:
    tokenizer = default_tokenizer()
    lexical = BM25Index()
    for seed in seeds:
        lexical.upsert(seed.id, tokenizer.terms(seed.text))
    for i, text in enumerate(OTHERS, 900):
        lexical.upsert(i, tokenizer.terms(text))
    return Explainer(tokenizer.tokens(need_text), None, lexical, tokenizer, default_places(),
                     {UNIVERSITY.name: UNIVERSITY}, min_shared_idf=min_idf, shared_terms_shown=limit,
                     seeds_per_partner=3, seed_floor=floor, texts=texts)


def seed(seed_id: int, title: str, summary: str = "") -> Seed:
    return Seed(id=seed_id, title=title, summary=summary, university=UNIVERSITY.name, prefecture_code="22")


def partner_for(need_text: str, *seeds: Seed, **options: object):
    explainer = explainer_over(list(seeds), need_text, **options)
    scores = [SeedScore(s, 1.0 - 0.1 * i, 0.9, 10.0) for i, s in enumerate(seeds)]
    return explainer, explainer.partner(Ranked(UNIVERSITY.name, 0.5, False), "university", scores)


# ---- shown in each text's own words ------------------------------------------------------------------
# (need text, seed text, the need's word, the seed's word, UniDic's lemma, which neither text writes)
OWN_WORDS = [
    ("駿河湾のアカモクを養殖したい", "アカモクの養殖と加工", "アカモク", "アカモク", "赤藻屑"),
    ("カジメの藻場を再生したい", "カジメ藻場の再生技術", "カジメ", "カジメ", "搗布"),
    ("アオサの陸上養殖を始めたい", "アオサの陸上養殖", "アオサ", "アオサ", "石蓴"),
    ("石場建ての寺の耐震を確かめたい", "石場建て構法の耐震実験", "石場", "石場", "イシバ"),
    ("駿河湾の深海魚を商品にしたい", "駿河湾の深海微生物の酵素", "駿河", "駿河", "スルガ"),
    ("魚のタンパク質を取り出したい", "魚のタンパク質の抽出", "タンパク", "タンパク", "蛋白"),
    ("果実を傷めずに選別したい", "果実を傷めない非破壊選別", "傷め", "傷め", "痛める"),
    # one lemma, two spellings: each text shows its own
    ("稲わらともみ殻を燃料にしたい", "稲藁と籾殻の燃料化", "稲わら", "稲藁", "稲藁"),
    ("稲わらともみ殻を燃料にしたい", "稲藁と籾殻の燃料化", "もみ殻", "籾殻", "籾殻"),
    # UniDic splits it into イン + バウンド: the domain compound keeps it one word
    ("インバウンド観光客を呼び込みたい", "インバウンド需要の分析", "インバウンド", "インバウンド", "インバウンド"),
]


@pytest.mark.parametrize(("need_text", "seed_text", "need_word", "seed_word", "lemma"), OWN_WORDS)
def test_terms_are_matched_by_lemma_and_shown_as_each_text_writes_them(need_text, seed_text, need_word,
                                                                       seed_word, lemma):
    _, partner = partner_for(need_text, seed(1, seed_text))
    hit = partner.seeds[0]
    assert not {"イン", "バウンド"} & set(partner.shared_terms + hit.shared_terms)  # never a compound's parts
    assert need_word in partner.shared_terms and need_word in need_text
    assert seed_word in hit.shared_terms and seed_word in hit.seed.text
    assert lemma in partner.term_weights  # matched by the lemma
    assert lemma in need_text or lemma not in partner.shared_terms  # a lemma the need never writes is not shown
    assert lemma in seed_text or lemma not in hit.shared_terms
    assert {hit.seed.text[s.start:s.end] for s in hit.seed_spans} >= {seed_word}


def test_every_shown_term_is_verbatim_in_its_text():
    need_text = "駿河湾で採れるアカモクやアオサのタンパク質を、傷めずに取り出して健康食品にしたい"
    explainer, partner = partner_for(need_text, seed(1, "アカモク・アオサのタンパク質を傷めない抽出", "駿河湾の海藻"))
    assert partner.shared_terms and all(t in need_text for t in partner.shared_terms)
    for hit in partner.seeds:
        assert all(t in hit.seed.text for t in hit.shared_terms)
    marked = {need_text[s.start:s.end] for s in explainer.need_spans([partner])}
    assert marked and marked <= set(partner.shared_terms)


# ---- only the terms that carried the match -------------------------------------------------------------
FILLER = ["県", "範囲", "事業", "年", "作る", "向ける"]


@pytest.mark.parametrize("word", FILLER)
def test_filler_words_of_the_issue_are_never_shown(word):
    need_text = "県の事業として、年に二回の範囲でアカモクを使った食品を作る。販路に向けた試作をしたい。"
    seed_text = "県の事業の範囲で、年ごとにアカモクの食品を作る技術。市場に向けた試作。"
    _, partner = partner_for(need_text, seed(1, seed_text))
    assert "アカモク" in partner.shared_terms
    assert word not in partner.shared_terms and word not in partner.seeds[0].shared_terms


@pytest.mark.parametrize(("text", "filler"), [
    ("県", True), ("範囲", True), ("事業", True), ("年", True), ("作る", True), ("向ける", True),
    ("時期", True),  # a noun UniDic marks usable as an adverb (副詞可能)
    ("二十", True), ("時間", True),  # a numeral; a noun UniDic marks usable as a counter (助数詞可能)
    ("アカモク", False), ("養殖", False), ("耐震", False),
])
def test_is_filler(text, filler):
    tokens = [t for t in default_tokenizer().tokens(text) if t.surface == text]
    assert tokens, f"{text} is not a content word"
    assert is_filler(tokens[0]) is filler


@pytest.mark.parametrize(("term", "ok"), [("籾殻", True), ("2024", False), ("3.5", False), ("x", False),
                                          ("AI", True)])
def test_bare_numbers_and_lone_letters_explain_nothing(term, ok):
    assert telling(term) is ok


def test_terms_are_ranked_by_their_part_of_the_bm25_score_and_at_most_the_limit_are_shown():
    words = ["アカモク", "カジメ", "アオサ", "ヒジキ", "モズク", "ワカメ", "コンブ", "テングサ", "フノリ", "アラメ"]
    need_text = "、".join(words) + "を使いたい"
    # アカモク three times in the seed: the biggest part of its score; the rest once each
    seed_text = "アカモク、アカモク、アカモクと" + "、".join(words[1:]) + "の利用"
    explainer, partner = partner_for(need_text, seed(1, seed_text), limit=8)
    hit = partner.seeds[0]
    weights = explainer.lexical.term_weights(explainer.query_terms, 1)
    assert sum(weights.values()) == pytest.approx(float(explainer.lexical.score_ids(list(explainer.query_terms),
                                                                                    [1])[0]), rel=1e-5)
    assert len(hit.shared_terms) == 8 and len(partner.shared_terms) == 8
    assert hit.shared_terms[0] == "アカモク" == partner.shared_terms[0]
    shown_weights = list(hit.term_weights.values())
    assert shown_weights == sorted(shown_weights, reverse=True)


def test_terms_in_most_documents_fall_below_the_idf_floor():
    seeds = [seed(i, f"アカモクの研究 その{i}") for i in range(1, 40)] + [seed(50, "アカモクとカジメの研究")]
    explainer = explainer_over(seeds, "アカモクとカジメを調べたい")
    hit = explainer.seed_hit(SeedScore(seeds[-1], 1.0, 0.9, 5.0))
    assert explainer.lexical.idf("赤藻屑") < 1.5 <= explainer.lexical.idf("搗布")
    assert hit.shared_terms == ["カジメ"]


def test_a_term_inside_a_longer_shared_term_is_counted_as_part_of_it():
    _, partner = partner_for("町家の耐震補強をしたい", seed(1, "京町家の耐震補強工法"))
    assert partner.shared_terms[0] == "耐震補強"
    assert "耐震" not in partner.shared_terms and "補強" not in partner.shared_terms


def test_the_need_shows_at_most_the_limit_of_highlighted_terms_over_all_partners():
    words = ["アカモク", "カジメ", "アオサ", "ヒジキ", "モズク", "ワカメ", "コンブ", "テングサ", "フノリ", "アラメ"]
    need_text = "、".join(words) + "を使いたい"
    seeds = [seed(i, f"{w}の加工") for i, w in enumerate(words, 1)]
    explainer = explainer_over(seeds, need_text, limit=8)
    partners = [explainer.partner(Ranked(s.title, 0.5, False), "seed", [SeedScore(s, 1.0, 0.9, 5.0)]) for s in seeds]
    marks = explainer.need_spans(partners)
    assert len({s.term for s in marks}) == 8
    assert all(need_text[s.start:s.end] in words for s in marks)


def test_shown_keeps_only_terms_of_the_text():
    tokens = default_tokenizer().tokens("アカモクの養殖")
    assert list(shown({"赤藻屑": 2.0, "搗布": 5.0, "養殖": 1.0}, TextTerms.of(tokens), 8)) == ["赤藻屑", "養殖"]
    assert explainable(tokens) == {"赤藻屑", "養殖"}


def test_spans_take_the_longest_token_at_a_position_and_never_overlap():
    def token(term: str, start: int, end: int) -> Token:
        return Token(term=term, surface=term, pos="名詞", start=start, end=end)

    tokens = [token("稲わら", 0, 3), token("稲", 0, 1), token("わら", 1, 3), token("籾殻", 4, 7)]
    assert spans(tokens, {"稲わら", "稲", "籾殻"}) == [Span(0, 3, "稲わら"), Span(4, 7, "籾殻")]
    assert spans(tokens, {"わら"}) == [Span(1, 3, "わら")]


def test_needs_for_a_seed_show_the_need_s_words():
    tokenizer = default_tokenizer()
    need = Need(id=7, title="アカモクの加工", description="駿河湾のアカモクを食品にしたい", prefecture_code="22")
    lexical = BM25Index()
    lexical.upsert(need.id, tokenizer.terms(need.text))
    for i, text in enumerate(OTHERS, 900):
        lexical.upsert(i, tokenizer.terms(text))
    explainer = Explainer(tokenizer.tokens("アカモクの養殖技術"), None, lexical, tokenizer, default_places(), {},
                          min_shared_idf=1.5, shared_terms_shown=8, seeds_per_partner=3)
    assert explainer.need_hit(need, 1.0, 0.9).shared_terms == ["アカモク"]


# ---- the seeds a partner lists ---------------------------------------------------------------------------
@pytest.mark.parametrize(("fused", "floor", "listed"), [
    ([0.9, 0.7, 0.6], 0.75, [0.9, 0.7]),  # 0.6 < 0.675
    ([0.72, 0.27, 0.26], 0.75, [0.72]),  # the CNF need's 京都大学: its unrelated seeds stay out
    ([0.3, 0.29, 0.28, 0.27], 0.75, [0.3, 0.29, 0.28]),  # never more than three
    ([0.5], 0.75, [0.5]),
    ([0.0, 0.0], 0.75, [0.0, 0.0]),
    ([0.9, 0.1], 0.0, [0.9, 0.1]),  # no floor: the best three
])
def test_a_partner_lists_its_best_seed_and_those_within_the_floor(fused, floor, listed):
    scores = [SeedScore(seed(i, f"シーズ{i}"), f, 0.9, 1.0) for i, f in enumerate(fused, 1)]
    assert [s.fused for s in listed_seeds(scores, 3, floor)] == listed


def test_the_partner_keeps_the_seeds_above_the_floor_only():
    seeds = [seed(1, "アカモクの養殖"), seed(2, "アカモクの加工"), seed(3, "半導体の露光")]
    explainer = explainer_over(seeds, "アカモクを養殖したい")
    scores = [SeedScore(seeds[0], 0.9, 0.92, 8.0), SeedScore(seeds[1], 0.8, 0.9, 4.0),
              SeedScore(seeds[2], 0.3, 0.85, 0.0)]
    partner = explainer.partner(Ranked(UNIVERSITY.name, 0.5, False), "university", scores)
    assert [h.seed.id for h in partner.seeds] == [1, 2]
    assert partner.similarity == 0.92


# ---- bands -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("similarity", "band"), [(0.95, "とても近い"), (0.90, "とても近い"), (0.8999, "近い"),
                                                  (0.875, "近い"), (0.8749, "関連あり"), (0.5, "関連あり")])
def test_closeness_bands(similarity, band):
    assert closeness_band(similarity) == band


def test_the_lower_band_starts_where_the_report_calls_a_need_unmet():
    assert CLOSENESS_BANDS[-1][0] == DEFAULT_UNMET_THRESHOLD


# ---- the stop list is data, with its source --------------------------------------------------------
def test_the_stop_list_holds_the_issue_s_filler_words_and_is_credited():
    stop = display_stop_terms()
    assert set(FILLER) - {"年"} <= stop  # 年 is caught by its part of speech (副詞可能)
    assert not {"赤藻屑", "養殖", "耐震補強"} & stop
    credits = (ROOT / "corpora" / "README.md").read_text(encoding="utf-8")
    assert f"`master/{STOP_LIST.name}`" in credits and STOP_LIST.parent.name == "master"


# ---- places and names --------------------------------------------------------------------------------
def test_relation_is_unknown_without_both_prefectures():
    places = default_places()
    niigata, toyama, gunma = (Location(places.prefectures.get(code)) for code in ("15", "16", "10"))
    assert relation(niigata, None, places) == (None, None)
    cross, distance = relation(niigata, gunma, places)
    assert cross is True and distance is not None and 150 < distance.km < 200
    assert distance.basis == "prefecture_capitals"
    assert relation(niigata, toyama, places)[0] is False  # both 中部


def test_partner_names_follow_the_level():
    university = University(name="広島大学", prefecture_code="34")
    researcher = Researcher(name="山本 浩二", university="広島大学")
    first = Seed(id=6, title="カキのゲノム育種", university="広島大学", researcher=researcher)
    assert partner_name("university", first, university) == "広島大学"
    assert partner_name("researcher", first, university) == "山本 浩二（広島大学）"
    assert partner_name("seed", first, university) == "カキのゲノム育種"


def test_the_engines_cache_of_explained_texts_explains_as_deriving_each_time():
    """Explanations from cached TextTerms equal those derived from the tokens afresh, and a text is derived once."""
    need_text = "アカモクの養殖と耐震補強の技術を探している"
    seeds = [seed(1, "アカモクの養殖技術と加工"), seed(2, "耐震補強の工法と養殖池")]
    fresh = [partner_for(need_text, s)[1] for s in seeds]
    tokenizer = default_tokenizer()
    cache = TextTermsCache(tokenizer, display_stop_terms())
    cached = [partner_for(need_text, s, texts=cache)[1] for s in seeds]
    assert [(p.shared_terms, p.seeds[0].shared_terms, p.seeds[0].seed_spans) for p in cached] == \
        [(p.shared_terms, p.seeds[0].shared_terms, p.seeds[0].seed_spans) for p in fresh]
    assert any(p.shared_terms for p in cached)
    assert cache(seeds[0].text) is cache(seeds[0].text)
