"""`matcher-admin import-seeds FILE --organisation-id N [--dry-run]`: the page's dry run and import at the command
line (issue 15), over a golden database, with an XLSX file."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api import models as m
from api.admin import app as admin
from api.db import make_engine
from api.settings import get_settings

from ..conftest import GOLDEN

HEADER = ["外部ID", "題目", "概要", "キーワード", "市場領域", "成熟度", "公開範囲", "研究者"]


@pytest.fixture
def golden_db(tmp_path, monkeypatch, encoder):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHER_CORPUS_DIR", str(GOLDEN))
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps at 80 columns without a terminal
    monkeypatch.setattr("matcher.embed.Encoder", lambda *args, **kwargs: encoder)  # the session's, loaded once
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(admin, ["load-demo"]).exit_code == 0
    engine = make_engine(get_settings().sqlalchemy_url)
    with Session(engine) as session:
        takada = session.exec(select(m.Researcher).where(m.Researcher.name == "高田 誠")).one()
        ids = (takada.id, takada.organisation_id)
    yield runner, engine, *ids
    engine.dispose()
    get_settings.cache_clear()


def xlsx(path, *rows) -> None:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())


def imported(engine, university_id) -> dict[str, str]:
    with Session(engine) as session:
        seeds = session.exec(select(m.Seed).where(m.Seed.organisation_id == university_id,
                                                  col(m.Seed.external_id).is_not(None))).all()
        return {s.external_id or "": s.title for s in seeds}


def test_the_cli_checks_imports_and_reimports_idempotently(golden_db, tmp_path):
    runner, engine, researcher_id, university_id = golden_db
    file = tmp_path / "seeds.xlsx"
    xlsx(file, ("C-1", "雪室による低温熟成", "雪の冷気で野菜を熟成する。", "雪室", "M3", None, None, researcher_id),
         ("C-2", "もみ殻の炭化", "もみ殻を炭にして土壌改良に使う。", None, None, "基礎研究", "公開", researcher_id))
    args = ["import-seeds", str(file), "--organisation-id", str(university_id)]

    dry = runner.invoke(admin, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "新規 2 件" in dry.output and "何も書き込んでいません" in dry.output
    assert imported(engine, university_id) == {}

    done = runner.invoke(admin, args)
    assert done.exit_code == 0, done.output
    assert "取り込みました: 新規 2 件" in done.output and "ベクトルにした文章 2 件" in done.output
    assert imported(engine, university_id) == {"C-1": "雪室による低温熟成", "C-2": "もみ殻の炭化"}

    again = runner.invoke(admin, args)
    assert again.exit_code == 0, again.output
    assert "変更なし 2 件" in again.output and "ベクトルにした文章 0 件" in again.output


def test_the_cli_refuses_a_file_with_a_bad_row_and_writes_nothing(golden_db, tmp_path):
    runner, engine, researcher_id, university_id = golden_db
    file = tmp_path / "seeds.xlsx"
    xlsx(file, ("B-1", "正しい行", "", None, None, None, None, researcher_id),
         ("B-2", "研究者のいない行", "", None, None, None, None, 999999))
    result = runner.invoke(admin, ["import-seeds", str(file), "--organisation-id", str(university_id)])
    assert result.exit_code == 1
    assert "研究者ID 999999 の研究者は、この大学に登録されていません。" in result.output
    assert "何も書き込んでいません" in result.output
    assert imported(engine, university_id) == {}
    not_a_university = runner.invoke(admin, ["import-seeds", str(file), "--organisation-id", "999999"])
    assert not_a_university.exit_code == 1 and "登録済みの大学ではありません" in not_a_university.output
