"""CLI smoke tests: the commands a coordinator types, over the golden corpus and the real model."""

import json

import pytest
from typer.testing import CliRunner

from matcher.cli import app

from .conftest import GOLDEN


@pytest.fixture(scope="module")
def env(tmp_path_factory, model_dir):
    return {
        "MATCHER_MODEL_DIR": str(model_dir),
        "MATCHER_INDEX_DIR": str(tmp_path_factory.mktemp("index")),
        "MATCHER_CORPUS_DIR": str(GOLDEN),
        "COLUMNS": "200",
    }


def run(env, *args):
    return CliRunner().invoke(app, list(args), env=env)


def test_index_then_match(env):
    built = run(env, "index")
    assert built.exit_code == 0, built.output
    assert "シーズ 12 件" in built.output
    result = run(env, "match", "稲わらともみ殻をガス化したい", "--prefecture", "15", "--top-k", "3")
    assert result.exit_code == 0, result.output
    assert "長岡技術科学大学" in result.output
    assert "地域内で最も近い連携先" in result.output
    assert "窓口" in result.output


def test_match_json(env):
    result = run(env, "match", "町家の耐震補強", "-p", "奈良県", "--json", "--level", "researcher")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["partners"][0]["university"] == "奈良女子大学"
    assert data["partners"][0]["researcher"]["name"] == "吉田 恵"
    assert data["need"]["prefecture"]["region"] == "近畿"


def test_match_sorts_by_content_and_prints_both_signals(env):
    shown = run(env, "match", "稲わらともみ殻をガス化したい", "-p", "15", "--top-k", "3", "--sort", "content")
    assert shown.exit_code == 0, shown.output
    assert "並べ替え: 内容重視" in shown.output and "内容の近さ:" in shown.output
    assert "実績・体制: 登録シーズ" in shown.output
    as_json = run(env, "match", "稲わらともみ殻をガス化したい", "-p", "15", "--json", "--sort", "content")
    data = json.loads(as_json.stdout)
    assert data["sort"] == "content"
    assert data["partners"][0]["signals"]["track_record"]["seed_count"] >= 1
    refused = run(env, "match", "テスト", "--sort", "size")
    assert refused.exit_code == 2 and "並べ替え" in refused.output


def test_needs_for_seed(env):
    result = run(env, "needs-for-seed", "7", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["need_id"] == 904


def test_bad_input_exits_with_japanese_message(env):
    result = run(env, "match", "テスト", "--prefecture", "99")
    assert result.exit_code == 2
    assert "都道府県「99」が見つかりません" in result.output
    result = run(env, "match", "   ")
    assert result.exit_code == 2 and "空です" in result.output
    result = run(env, "needs-for-seed", "999999")
    assert result.exit_code == 1 and "見つかりません" in result.output


def test_every_command_is_registered_in_commands_py_in_help_order():
    names = [c.name for c in app.registered_commands]
    assert names == ["setup-model", "setup-encoder", "index", "match", "needs-for-seed", "demo", "demo-vectors",
                     "report", "train-ranker"]
    (bench,) = app.registered_groups
    assert bench.name == "bench"
    assert [c.name for c in bench.typer_instance.registered_commands] == [
        "similarity", "retrieval", "need2univ", "report-scale", "index", "explain", "scale", "encoders"]


def test_the_gain_from_crossing_regions_is_a_sentence_not_a_bare_number(golden_engine):
    from matcher.cli.match import gain_line

    for text, prefecture in [("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "15"),
                             ("カキの養殖とゲノム育種", "15"), ("豪雨時の河川の氾濫予測", "47")]:
        result = golden_engine.match(text, prefecture, top_k=5)
        line = gain_line(result)
        assert "+0." not in line and line.endswith("。")
        assert ("同じ地域" in line) and (result.partners[0].name in line or result.best_in_region.name in line)
