"""The demo corpus meets what the engine issue asks of it, and the loader rejects bad lines."""

import csv
import json
from collections import Counter

import pytest

from matcher.corpus import CORPUS_DIR, CorpusError, load_corpus
from matcher.regions import REGION_ORDER, default_prefectures

THEMES = {
    "smart primary industry": ["スマート農業", "スマート畜産", "スマート漁業", "酪農", "ドローン"],
    "rice and unused biomass": ["稲わら", "もみ殻", "米ぬか"],
    "aquaculture without feeding": ["無給餌"],
    "forest business": ["林業", "森林"],
    "biomass plastics": ["バイオマスプラスチック", "生分解性"],
    "marine biotechnology": ["海洋", "深海"],
    "traditional wooden buildings": ["伝統", "木造"],
    "genome editing and bioinformatics": ["ゲノム編集", "バイオインフォマティクス"],
    "drug discovery and smart cells": ["創薬", "スマートセル"],
    "subtropical bio-resources": ["亜熱帯"],
    "gasification of unused biomass": ["ガス化"],
    "vaccines and regenerative medicine": ["ワクチン", "再生医療"],
}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS_DIR)


def test_seed_counts_and_spread(corpus):
    table = default_prefectures()
    assert len(corpus.seeds) >= 400
    universities = {s.university for s in corpus.seeds}
    assert len(universities) >= 60
    prefectures = {corpus.universities[u].prefecture_code for u in universities}
    assert len(prefectures) >= 40
    assert {table.get(code).region for code in prefectures} == set(REGION_ORDER)


def test_universities_are_real_and_have_a_liaison_office(corpus):
    # MEXT university list, read in place from the shared evaluation data (never copied in)
    master = CORPUS_DIR.parent.parent / "shared" / "data" / "master" / "universities.csv"
    if not master.exists():
        pytest.skip("../shared/data is not beside the project")
    with open(master, encoding="utf-8") as f:
        known = {row["name"]: row["prefecture_code"].strip().zfill(2) if row["prefecture_code"].strip() else None
                 for row in csv.DictReader(f)}
    for university in corpus.universities.values():
        assert university.name in known, university.name
        # the MEXT list leaves many codes blank; where it has one, it must agree
        assert known[university.name] in (None, university.prefecture_code), university.name
        assert university.liaison and university.liaison.office


def test_needs_cover_every_region(corpus):
    table = default_prefectures()
    assert len(corpus.needs) >= 80
    regions = Counter(table.get(n.prefecture_code).region for n in corpus.needs)
    assert set(regions) == set(REGION_ORDER), regions
    assert {n.poster_kind for n in corpus.needs} == {"municipality", "company"}


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_bio_community_themes_are_covered(corpus, theme):
    words = THEMES[theme]
    assert any(any(w in s.text for w in words) for s in corpus.seeds), f"no seed on {theme}"
    assert any(any(w in n.text for w in words) for n in corpus.needs), f"no need on {theme}"


def test_market_area_tags_are_valid(corpus):
    with open(CORPUS_DIR / "master" / "market_areas.csv", encoding="utf-8") as f:
        codes = {row["code"] for row in csv.DictReader(f)}
    assert len(codes) == 9
    tagged = [item for item in [*corpus.seeds, *corpus.needs] if item.market_areas]
    assert all(set(item.market_areas) <= codes for item in tagged)
    assert len(tagged) >= 0.6 * (len(corpus.seeds) + len(corpus.needs))


def test_loader_names_file_and_line_of_a_bad_row(tmp_path):
    (tmp_path / "universities").mkdir()
    (tmp_path / "seeds").mkdir()
    university = {"name": "テスト大学", "prefecture_code": "13", "liaison": {"office": "窓口"}}
    (tmp_path / "universities" / "u.jsonl").write_text(json.dumps(university, ensure_ascii=False) + "\n")
    good = {"id": 1, "title": "t", "university": "テスト大学", "prefecture_code": "13"}
    bad = {**good, "id": 2, "prefecture_code": "77"}
    (tmp_path / "seeds" / "s.jsonl").write_text("\n".join(json.dumps(x) for x in (good, bad)) + "\n")
    with pytest.raises(CorpusError, match=r"s\.jsonl:2"):
        load_corpus(tmp_path)
    (tmp_path / "seeds" / "s.jsonl").write_text("\n".join(json.dumps(x) for x in (good, good)) + "\n")
    with pytest.raises(CorpusError, match="重複"):
        load_corpus(tmp_path)
