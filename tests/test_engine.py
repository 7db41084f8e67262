"""The engine over the real converted model, on a small golden corpus written for these tests."""

from __future__ import annotations

import pytest

from matcher.engine import Engine
from matcher.errors import EmptyTextError, InvalidInputError, NotFoundError, TextTooLongError, UnknownPrefectureError
from matcher.records import Researcher, Seed

GOLDEN_TOP = [
    # (need text, prefecture, expected first university)
    ("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "15", "長岡技術科学大学"),
    ("養殖カキの成長を早めるため、ゲノムの知見で品種改良したい", "34", "広島大学"),
    ("歴史ある町家を残しながら地震に備える補強方法を知りたい", "29", "奈良女子大学"),
    ("もずくや海ぶどうを陸上の水槽で育てたい", "47", "琉球大学"),
    ("乳牛の発情をセンサで見つけて酪農の作業を減らしたい", "01", "帯広畜産大学"),
    ("微生物の発酵で医薬品の原料を安く作りたい", "40", "久留米大学"),
]


@pytest.mark.parametrize("sort", ["overall", "content"])  # 総合 and 内容重視 (issue 17): both name the same first
@pytest.mark.parametrize(("text", "prefecture", "expected"), GOLDEN_TOP)
def test_golden_needs_rank_the_right_university_first(golden_engine, text, prefecture, expected, sort):
    result = golden_engine.match(text, prefecture, top_k=5, sort=sort)
    assert result.partners[0].name == expected, [p.name for p in result.partners]


def test_partner_carries_explanation_region_distance_and_contact(golden_engine):
    result = golden_engine.match("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "新潟県", top_k=5)
    first = result.partners[0]
    assert first.prefecture.code == "15" and first.region == "中部"
    # the need names no municipality: same prefecture is shown as such, not as 約0 km
    assert first.cross_region is False and first.distance_km is None and first.distance_label == "同じ県内"
    assert first.contact.office.startswith("産学連携窓口")
    assert {"もみ殻", "稲わら"} <= set(first.shared_terms)  # the need's own words, not the lemmas 籾殻・稲藁
    assert first.seeds[0].seed.id == 1
    seed_text = first.seeds[0].seed.text
    assert {seed_text[s.start:s.end] for s in first.seeds[0].seed_spans} >= {"稲わら", "もみ殻"}
    need_words = {result.text[s.start:s.end] for s in result.need_spans}
    assert {"稲わら", "もみ殻"} <= need_words
    assert "共通する語" in first.explanation
    outside = [p for p in result.partners if p.cross_region]
    assert outside and all(p.distance_km > 0 for p in outside)
    gunma = next(p for p in result.partners if p.name == "群馬大学")
    assert gunma.region == "関東" and 150 < gunma.distance_km < 200  # Niigata–Maebashi, between capitals
    assert gunma.distance_label.endswith("（県庁所在地間）")


def test_a_need_s_municipality_places_it_for_distances(golden_engine):
    """From 長岡市: 長岡技術科学大学 is in the same city, 新潟大学 (新潟市 西区) about 50 km away, 群馬大学 (前橋市)
    about 120 km, each measured from 長岡 and not from the prefectural capital."""
    result = golden_engine.match("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "新潟県", top_k=5,
                                 municipality="長岡市")
    by_name = {p.name: p for p in result.partners}
    nagaoka = by_name["長岡技術科学大学"]
    assert nagaoka.distance_basis == "municipalities" and nagaoka.municipality == "長岡市"
    assert nagaoka.distance_km == 0
    if "新潟大学" in by_name:
        assert 40 < by_name["新潟大学"].distance_km < 60
    gunma = next(p for p in result.partners if p.name == "群馬大学")
    assert gunma.distance_basis == "municipalities" and 100 < gunma.distance_km < 160


def test_scores_are_sorted_and_bounded(golden_engine):
    result = golden_engine.match("地域の未利用資源を活用したい", "15", top_k=9, scope="in-region")
    scores = [p.score for p in result.partners]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)


def test_scopes_filter_by_region(golden_engine):
    text = "もみ殻の有効活用を考えている"
    inside = golden_engine.match(text, "15", scope="in-region", level="seed", top_k=10)
    outside = golden_engine.match(text, "15", scope="cross-region", level="seed", top_k=10)
    assert inside.partners and all(p.region == "中部" for p in inside.partners)
    assert outside.partners and all(p.region != "中部" for p in outside.partners)
    assert all(p.cross_region for p in outside.partners)
    with pytest.raises(InvalidInputError, match="都道府県"):
        golden_engine.match(text, None, scope="in-region")


def test_best_in_region_is_reported_beside_a_cross_region_list(golden_engine):
    result = golden_engine.match("カキの品種改良をゲノム解析で進めたい", "15", top_k=3, scope="cross-region")
    assert result.partners[0].name == "広島大学"
    assert result.best_in_region is not None
    assert result.best_in_region.region == "中部"
    assert result.gain_over_local > 0


def test_cross_region_guarantee_promotes_close_outside_partners(encoder):
    # Twelve in-region seeds that match about equally, and three outside ones (identical, so they tie) near them.
    seeds = [Seed(id=i, title=f"もみ殻の燃料化技術 第{i}報", summary="もみ殻を固めて燃料にする。",
                  university=f"地元大学{i}", prefecture_code="15") for i in range(1, 13)]
    seeds += [Seed(id=100 + i, title="もみ殻の燃料利用の事例", summary="もみ殻を燃料に使う。",
                   university=f"遠方大学{i}", prefecture_code=code) for i, code in enumerate(["01", "40", "47"], 1)]
    engine = Engine(encoder)
    engine.sync_seeds(seeds)
    plain = engine.match("もみ殻を燃料にしたい", "15", top_k=10, scope="all")
    assert sum(p.cross_region for p in plain.partners) >= 3, [(p.name, p.score) for p in plain.partners]
    promoted = [p for p in plain.partners if p.promoted]
    assert all(p.cross_region for p in promoted)
    assert plain.best_in_region is not None and plain.best_in_region.region == "中部"
    # Without a tolerance nobody is promoted: the guarantee never invents closeness.
    from dataclasses import replace

    engine.settings = replace(engine.settings, cross_tolerance=-1.0)
    strict = engine.match("もみ殻を燃料にしたい", "15", top_k=10, scope="all")
    assert not any(p.promoted for p in strict.partners)


def test_levels(golden_engine):
    text = "カキのゲノムを使った育種"
    both = golden_engine.match("カキや養殖魚のゲノム育種", "34", level="researcher", top_k=3)
    assert both.partners[0].researcher.name == "山本 浩二"
    assert len(both.partners[0].seeds) == 2  # both of his seeds, under one person
    researchers = golden_engine.match(text, "34", level="researcher", top_k=3)
    assert researchers.partners[0].researcher.name == "山本 浩二"
    # his fish-genome seed scores 0.55 of his oyster seed here: below the floor (seed_floor), so not listed
    assert [h.seed.id for h in researchers.partners[0].seeds] == [6]
    seeds = golden_engine.match(text, "34", level="seed", top_k=3)
    assert seeds.partners[0].seeds[0].seed.id == 6


def test_reverse_matching_finds_the_fitting_need_and_hides_confidential(golden_engine):
    hits = golden_engine.needs_for_seed(8, top_k=3)
    assert hits[0].need.id == 903
    assert hits[0].cross_region is False
    smart_cell = golden_engine.needs_for_seed(10, top_k=5)
    assert 905 not in [h.need.id for h in smart_cell]
    with_secret = golden_engine.needs_for_seed(10, top_k=5, include_confidential=True)
    assert with_secret[0].need.id == 905
    with pytest.raises(NotFoundError, match="見つかりません"):
        golden_engine.needs_for_seed(424242)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"text": ""}, EmptyTextError, "空です"),
        ({"text": "あ" * 20_001}, TextTooLongError, "長すぎます"),
        ({"text": "テスト", "prefecture": "99"}, UnknownPrefectureError, "見つかりません"),
        ({"text": "テスト", "top_k": 0}, InvalidInputError, "top_k"),
        ({"text": "テスト", "top_k": 51}, InvalidInputError, "top_k"),
        ({"text": "テスト", "level": "faculty"}, InvalidInputError, "level"),
        ({"text": "テスト", "scope": "nearby"}, InvalidInputError, "scope"),
    ],
)
def test_bad_input_gives_japanese_errors(golden_engine, kwargs, error, message):
    with pytest.raises(error, match=message):
        golden_engine.match(**kwargs)


def test_long_text_is_windowed_not_truncated(encoder):
    filler = "本研究は地域の産業振興に資するものである。" * 120  # far past 512 tokens
    assert len(encoder.windows(filler + "カキの養殖")) > 1
    with_tail = encoder.encode_queries([filler + "最後に、カキの養殖とゲノム編集による品種改良について述べる。" * 8])[0]
    without = encoder.encode_queries([filler])[0]
    target = encoder.encode_passages(["カキの養殖とゲノム編集による品種改良"])[0]
    assert float(with_tail @ target) > float(without @ target) + 0.005


def test_upsert_and_delete_change_results(encoder, golden_corpus):
    engine = Engine(encoder, universities=golden_corpus.universities.values())
    engine.sync_seeds(golden_corpus.seeds)
    new = Seed(id=77, title="茶殻を使った消臭シート", summary="緑茶の茶殻を不織布に混ぜて消臭シートにする。",
               university="静岡大学", prefecture_code="22",
               researcher=Researcher(name="望月 彩", university="静岡大学", department="農学部"))
    engine.upsert_seed(new)
    best = engine.match("茶殻の再利用で消臭製品を作りたい", "22", level="seed", top_k=1).partners[0]
    assert best.seeds[0].seed.id == 77
    engine.delete_seed(77)
    assert 77 not in engine.seed_index
    top = engine.match("茶殻の再利用で消臭製品を作りたい", "22", level="seed", top_k=5)
    assert 77 not in [p.seeds[0].seed.id for p in top.partners]


def test_known_vectors_are_never_encoded_again(encoder, golden_corpus):
    """The API keeps passage vectors in its database (issue 12): the engine embeds only what it is not handed."""
    from matcher.index import fingerprint

    from .conftest import CountingEncoder

    first = Engine(encoder, universities=golden_corpus.universities.values())
    first.sync_seeds(golden_corpus.seeds)
    stored = {fingerprint(s.text, encoder.name): first.seed_index.vectors_of([s.id])[0]
              for s in golden_corpus.seeds if s.id != 12}
    counting = CountingEncoder(encoder)
    engine = Engine(counting, universities=golden_corpus.universities.values())
    report = engine.sync_seeds(golden_corpus.seeds, known=lambda prints: {p: stored[p] for p in prints if p in stored})
    assert (report.added, report.encoded, counting.count()) == (len(golden_corpus.seeds), 1, 1)  # seed 12 only
    ids = sorted(engine.seed_index.ids() - {12})  # the handed-in vectors, bit for bit
    assert (engine.seed_index.vectors_of(ids) == first.seed_index.vectors_of(ids)).all()

    seed = golden_corpus.seeds[0]
    engine.upsert_seed(Seed(**{**seed.__dict__, "readiness": "applied"}))  # same text: the index's vector is kept
    changed = Seed(**{**seed.__dict__, "title": seed.title + "（改訂）"})
    given = first.encoder.encode_passages([changed.text])[0]
    engine.upsert_seed(changed, given)  # the caller's vector for the new text
    assert counting.count() == 0
    assert (engine.seed_index.vectors_of([seed.id])[0] == given).all()


def test_open_rebuilds_only_what_changed_and_recovers_from_damage(encoder, golden_corpus, tmp_path):
    kwargs = {"seeds": golden_corpus.seeds, "needs": golden_corpus.needs,
              "universities": golden_corpus.universities.values()}
    _, seeds_report, _ = Engine.open(tmp_path, encoder, **kwargs)
    assert seeds_report.added == len(golden_corpus.seeds)
    changed = [s for s in golden_corpus.seeds if s.id != 12]
    changed[0] = Seed(**{**changed[0].__dict__, "summary": changed[0].summary + "（改訂）"})
    engine, seeds_report, needs_report = Engine.open(tmp_path, encoder, **{**kwargs, "seeds": changed})
    assert (seeds_report.added, seeds_report.updated, seeds_report.removed) == (0, 1, 1)
    assert needs_report.unchanged == len(golden_corpus.needs)
    assert engine.seed_index.ids() == {s.id for s in changed}
    (tmp_path / "seeds" / "dense.faiss").write_bytes(b"garbage")
    engine, seeds_report, _ = Engine.open(tmp_path, encoder, **kwargs)
    assert seeds_report.added == len(golden_corpus.seeds)
    assert engine.seed_index.ids() == {s.id for s in golden_corpus.seeds}
