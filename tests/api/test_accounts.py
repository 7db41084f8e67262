"""api/accounts.py, the one set of rules for creating accounts and issuing tokens (issue 15: the admin pages share
them with `matcher-admin`): each refusal is a Japanese ApiError raised before anything is written, and the command
line shows the same words as its usage error."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from api import accounts
from api import models as m
from api.admin import app as admin
from api.db import make_engine, migrate
from api.errors import ApiError
from api.settings import get_settings


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'accounts.db'}")
    migrate(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _org(session: Session, kind: m.OrgKind) -> int:
    org = m.Organisation(name=f"{kind.value} 組織", kind=kind, prefecture_code="13")
    session.add(org)
    session.commit()
    return m.stored_id(org)


def test_refusals_write_nothing(session):
    city = _org(session, m.OrgKind.municipality)
    researcher = m.Researcher(name="研究 花子", organisation_id=_org(session, m.OrgKind.university))
    session.add(researcher)
    session.commit()
    cases = [({"organisation_id": city, "liaison_office": True}, "産学連携窓口にできるのは"),
             ({"researcher_id": m.stored_id(researcher)}, "role が researcher のとき"),  # the role is poster
             ({"organisation_id": 99999}, "組織（ID: 99999）が見つかりません"),
             ({"expires_days": 0}, "有効期限の日数は 1〜3650"), ({"name": "  "}, "アカウント名は1〜")]
    for fields, words in cases:
        with pytest.raises(ApiError) as refused:
            accounts.create_account(session, **{"name": "担当", "role": m.Role.poster, **fields})
        assert refused.value.status == 422 and words in refused.value.message, fields
    assert session.exec(select(m.Account)).all() == [] and session.exec(select(m.ApiToken)).all() == []


def test_a_researcher_is_linked_once_and_a_new_token_has_its_expiry(session):
    university = _org(session, m.OrgKind.university)
    researcher = m.Researcher(name="研究 太郎", organisation_id=university)
    session.add(researcher)
    session.commit()
    account, token = accounts.create_account(session, name="研究 太郎", role=m.Role.researcher,
                                             organisation_id=university, researcher_id=m.stored_id(researcher))
    assert token.startswith("mt_") and session.get(m.Researcher, researcher.id).account_id == account.id
    with pytest.raises(ApiError, match="すでに別のアカウント"):
        accounts.create_account(session, name="二人目", role=m.Role.researcher, researcher_id=researcher.id)
    _, second = accounts.new_token(session, m.stored_id(account), label=" 予備 ", expires_days=7)
    rows = session.exec(select(m.ApiToken).where(m.ApiToken.account_id == account.id)).all()
    assert second != token and len(rows) == 2
    assert {r.label for r in rows} == {None, "予備"} and sum(r.expires_at is not None for r in rows) == 1
    with pytest.raises(ApiError) as missing:
        accounts.new_token(session, 99999)
    assert missing.value.status == 404


def test_the_command_line_shows_the_rules_words(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        refused = CliRunner().invoke(admin, ["create-account", "--name", "x", "--role", "poster", "--liaison-office"])
        assert refused.exit_code == 2 and "産学連携窓口にできるのは" in refused.output
        missing = CliRunner().invoke(admin, ["create-token", "424242"])
        assert missing.exit_code == 2 and "アカウント（ID: 424242）が見つかりません" in missing.output
    finally:
        get_settings.cache_clear()
