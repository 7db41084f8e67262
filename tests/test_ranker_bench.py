"""`bench need2univ` and `train-ranker` end to end on a tiny need2univ-shaped folder, with a model-free encoder."""

from __future__ import annotations

import json
from dataclasses import replace

from matcher.bench import judged_set, need2univ
from matcher.engine import Engine, EngineSettings
from matcher.ranker.model import LinearRanker
from matcher.ranker.retrain import retrain, write
from matcher.records import Seed
from tests.test_engine_encoder import CharacterBigrams

TOPICS = {
    "稲わら": ["稲わらのガス化による熱源", "もみ殻の燃焼と農業ハウスの加温", "籾殻ボイラーの排熱利用"],
    "牧草": ["ドローンによる牧草地の把握", "牧草の生育を画像で推定する", "放牧地の植生のリモートセンシング"],
    "水循環": ["地下水の涵養と流域の水循環", "流域マネジメントの水収支", "都市の雨水貯留と浸透"],
    "サイバー": ["サイバー攻撃の検知と防御", "制御システムのインシデント対応", "不正侵入の機械学習による検知"],
    "介護": ["介護ロボットによる移乗支援", "高齢者の見守りセンサー", "在宅介護の負担を減らす機器"],
    "養殖": ["魚類の陸上養殖と水質管理", "ホタテ養殖の採苗", "養殖魚の病気の早期発見"],
}
SPECIALIST = {"稲わら": "農工大学", "牧草": "酪農大学", "水循環": "水の大学", "サイバー": "情報大学",
              "介護": "福祉大学", "養殖": "海洋大学"}
NEEDS = {
    "稲わら": "稲わらやもみ殻をガス化して農業ハウスの熱源にしたい",
    "牧草": "牧草地の生育をドローンの画像で把握したい",
    "水循環": "流域の地下水を保全し健全な水循環を回復したい",
    "サイバー": "サイバー攻撃のインシデントを早く検知したい",
    "介護": "介護の現場で高齢者の移乗をロボットで支援したい",
    "養殖": "陸上養殖で魚の水質を管理したい",
}


def write_set(folder, seeds_file, *, with_big: bool) -> None:
    folder.mkdir(parents=True)
    rows = []
    for topic, titles in TOPICS.items():
        rows += [{"_id": f"{topic}{i}", "title": t, "institution": SPECIALIST[topic], "prefecture_code": "13"}
                 for i, t in enumerate(titles)]
        if with_big:  # a large university with a loose seed on every topic and many unrelated ones
            rows.append({"_id": f"big-{topic}", "title": titles[0] + "の総説", "institution": "総合大学",
                         "prefecture_code": "13"})
    if with_big:
        rows += [{"_id": f"other{i}", "title": f"古典文学の注釈{i}", "institution": "総合大学", "prefecture_code": "13"}
                 for i in range(12)]
    seeds_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    queries, qrels = [], ["query_id\tcorpus_id\tscore"]
    for round_ in range(2):  # two needs per topic, each its own project
        for topic, text in NEEDS.items():
            query_id = f"N-{topic}-{round_}"
            queries.append({"_id": query_id, "text": text + ("。" * round_), "project": f"{topic}事業{round_}",
                            "ministry": "試験省"})
            qrels.append(f"{query_id}\t{SPECIALIST[topic]}\t1")
            if with_big and round_:
                qrels.append(f"{query_id}\t総合大学\t1")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                          encoding="utf-8")
    (folder / "qrels.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")


def test_the_fixed_rules_rank_exactly_as_engine_match(tmp_path):
    write_set(tmp_path / "dev", tmp_path / "seeds.jsonl", with_big=True)
    encoder = CharacterBigrams()
    judged = judged_set(tmp_path / "dev", tmp_path / "seeds.jsonl", encoder)
    assert len(judged.needs) == 12 and judged.popularity[0] == "総合大学"
    rows = [json.loads(line) for line in (tmp_path / "seeds.jsonl").read_text(encoding="utf-8").splitlines()]
    engine = Engine(encoder)
    engine.sync_seeds([Seed(id=i, title=r["title"], university=r["institution"], prefecture_code="13")
                       for i, r in enumerate(rows)])
    texts = {json.loads(line)["_id"]: json.loads(line)["text"]
             for line in (tmp_path / "dev" / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    for method in ("rms10", "sum", "max"):
        engine.settings = replace(EngineSettings(), aggregation=method)
        for need in judged.needs:
            partners = engine.match(texts[need.query_id], top_k=10).partners
            assert need.rules[method] == [p.university.name for p in partners]


def test_need2univ_cross_validates_both_sets_on_the_same_folds_and_decides(tmp_path):
    write_set(tmp_path / "dev", tmp_path / "seeds.jsonl", with_big=True)
    write_set(tmp_path / "dev-notop10", tmp_path / "seeds-notop10.jsonl", with_big=False)
    result = need2univ(tmp_path / "dev", tmp_path / "seeds.jsonl", CharacterBigrams(),
                       notop10=(tmp_path / "dev-notop10", tmp_path / "seeds-notop10.jsonl"), folds=3)
    cv = result["cv"]
    assert cv["folds"] == 3 and cv["grouped_by"] == "project"
    assert cv["fold_sizes"] == {"dev": [4, 4, 4], "dev-notop10": [4, 4, 4]}  # same projects, same folds
    for name in ("dev", "dev-notop10"):
        methods = cv["sets"][name]
        assert {"learned", "learned_content", "popularity", "rms10", "sum", "dense_sum"} <= set(methods)
        assert len(methods["learned"]["nDCG@10"]["folds"]) == 3
    assert result["sets"]["dev"]["popularity"]["queries"] == 12
    decision = result["decision"]
    assert decision["default"] in ("learned", "rms10", "max", "top3", "top10", "decay", "sum")
    assert decision["summary"] and len(decision["tests"]) >= 2


def test_retraining_writes_a_model_and_a_card_with_the_figures(tmp_path):
    write_set(tmp_path / "dev", tmp_path / "seeds.jsonl", with_big=True)
    write_set(tmp_path / "dev-notop10", tmp_path / "seeds-notop10.jsonl", with_big=False)
    encoder = CharacterBigrams()
    sets = [judged_set(tmp_path / "dev", tmp_path / "seeds.jsonl", encoder),
            judged_set(tmp_path / "dev-notop10", tmp_path / "seeds-notop10.jsonl", encoder)]
    retrained = retrain(sets, folds=3)
    model_path, card_path = write(retrained, tmp_path / "model")
    model = LinearRanker.load(model_path)
    assert model.info["trained_on"]["needs"] == 12 and model.info["decision"]["summary"]
    card = card_path.read_text(encoding="utf-8")
    assert "3 分割" in card and "| 人気度（シーズ数順） |" in card and retrained.decision is not None
    assert retrained.decision.summary in card
    # the card says what the engine's two sorts order by under this decision (matcher/rank.py, sort_rule)
    assert "## エンジンでの使い方" in card and "「内容重視」は `max`" in card
    if not retrained.decision.learned_adopted:
        assert f"固定の規則 `{retrained.decision.default}`" in card
        assert f"| {retrained.decision.default}（エンジンの総合） |" in card or retrained.decision.default == "max"
