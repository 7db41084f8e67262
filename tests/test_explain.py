"""The evidence beside a score: shared terms, highlighted spans, partner names, region and distance."""

from __future__ import annotations

import pytest

from matcher.explain import merged_terms, partner_name, relation, shared_terms, spans, telling
from matcher.lexical import BM25Index
from matcher.records import Researcher, Seed, University
from matcher.regions import default_prefectures
from matcher.results import Span
from matcher.text import Token


def token(term: str, start: int, end: int) -> Token:
    return Token(term=term, surface=term, pos="名詞", start=start, end=end)


@pytest.mark.parametrize(("term", "shown"), [("籾殻", True), ("2024", False), ("3.5", False), ("x", False),
                                             ("AI", True)])
def test_bare_numbers_and_lone_letters_explain_nothing(term, shown):
    assert telling(term) is shown


def test_shared_terms_leave_out_common_words_and_put_rare_ones_first():
    lexical = BM25Index()
    lexical.upsert(1, ["籾殻", "燃料", "技術", "2024"])
    for doc_id in range(2, 12):
        lexical.upsert(doc_id, ["技術", "燃料" if doc_id == 2 else "開発"])
    found = shared_terms({"籾殻", "燃料", "技術", "2024", "水産"}, lexical, 1, min_idf=1.5, limit=8)
    assert found == ["籾殻", "燃料"]  # "技術" is in every document; "2024" is a bare number
    assert shared_terms({"籾殻", "燃料"}, lexical, 1, min_idf=1.5, limit=1) == ["籾殻"]


def test_spans_take_the_longest_token_at_a_position_and_never_overlap():
    tokens = [token("稲わら", 0, 3), token("稲", 0, 1), token("わら", 1, 3), token("籾殻", 4, 7)]
    assert spans(tokens, {"稲わら", "稲", "籾殻"}) == [Span(0, 3, "稲わら"), Span(4, 7, "籾殻")]
    assert spans(tokens, {"わら"}) == [Span(1, 3, "わら")]


def test_merged_terms_keep_first_seen_order_once_each():
    assert merged_terms([["籾殻", "燃料"], ["燃料", "ガス化"], ["熱源"]], 3) == ["籾殻", "燃料", "ガス化"]


def test_relation_is_unknown_without_both_prefectures():
    prefectures = default_prefectures()
    niigata, toyama, gunma = (prefectures.get(code) for code in ("15", "16", "10"))
    assert relation(niigata, None, prefectures) == (None, None)
    assert relation(niigata, niigata, prefectures) == (False, 0.0)
    cross, distance = relation(niigata, gunma, prefectures)
    assert cross is True and 150 < distance < 200
    assert relation(niigata, toyama, prefectures)[0] is False  # both 中部


def test_partner_names_follow_the_level():
    university = University(name="広島大学", prefecture_code="34")
    researcher = Researcher(name="山本 浩二", university="広島大学")
    seed = Seed(id=6, title="カキのゲノム育種", university="広島大学", researcher=researcher)
    assert partner_name("university", seed, university) == "広島大学"
    assert partner_name("researcher", seed, university) == "山本 浩二（広島大学）"
    assert partner_name("seed", seed, university) == "カキのゲノム育種"
