"""Region scopes read the engine's per-region ids (region_ids.py), which every write keeps: after seeds move,
leave, and gain a university's prefecture, each scope holds exactly the seeds a loop over the records finds."""

from __future__ import annotations

import dataclasses

from matcher.engine import Engine
from matcher.records import Seed, University

from .test_engine_encoder import CharacterBigrams


def regions_by_loop(engine: Engine) -> dict[str | None, set[int]]:
    found: dict[str | None, set[int]] = {}
    for seed in engine.seeds.values():
        code = seed.prefecture_code or engine.universities[seed.university].prefecture_code
        region = engine.prefectures.get(code).region if code else None
        found.setdefault(region, set()).add(seed.id)
    return found


def assert_regions_follow_the_records(engine: Engine) -> None:
    truth = regions_by_loop(engine)
    for region in ("北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州", None):
        assert set(engine.seed_regions.inside(region).tolist()) == truth.get(region, set()), region
        assert set(engine.seed_regions.outside(region).tolist()) == set(engine.seeds) - truth.get(region, set())


def test_scopes_follow_every_write(golden_corpus, tmp_path):
    engine, _, _ = Engine.open(tmp_path, CharacterBigrams(), seeds=golden_corpus.seeds, needs=golden_corpus.needs,
                               universities=golden_corpus.universities.values())
    assert_regions_follow_the_records(engine)
    first = golden_corpus.seeds[0]
    engine.upsert_seed(dataclasses.replace(first, prefecture_code="47"))  # moved to 沖縄 (九州)
    engine.delete_seed(golden_corpus.seeds[1].id)
    engine.upsert_seed(Seed(id=9_001, title="離島の海水淡水化", university="新設大学"))  # no prefecture yet
    assert engine.seed_regions.region_of(9_001) is None
    assert_regions_follow_the_records(engine)
    engine.add_university(University(name="新設大学", prefecture_code="01"))  # now it lies in 北海道
    assert engine.seed_regions.region_of(9_001) == "北海道"
    assert_regions_follow_the_records(engine)
    engine.add_university(University(name="新設大学", prefecture_code="01", name_en="New University"))  # same place
    assert engine.universities["新設大学"].name_en == "New University"
    engine.add_university(University(name="新設大学", prefecture_code="40"))  # the campus moved to 福岡
    assert engine.seed_regions.region_of(9_001) == "九州"
    assert_regions_follow_the_records(engine)
    copy = engine.reader_copy()
    engine.delete_seed(9_001)
    assert copy.seed_regions.region_of(9_001) == "九州"  # a report's copy is left alone
    assert_regions_follow_the_records(engine)


def test_a_cross_region_match_never_shows_an_in_region_partner(golden_corpus, tmp_path):
    engine, _, _ = Engine.open(tmp_path, CharacterBigrams(), seeds=golden_corpus.seeds, needs=golden_corpus.needs,
                               universities=golden_corpus.universities.values())
    outside = engine.match("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "15", top_k=10, scope="cross-region")
    inside = engine.match("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "15", top_k=10, scope="in-region")
    assert outside.partners and all(p.region != "中部" for p in outside.partners)
    assert inside.partners and all(p.region == "中部" for p in inside.partners)
