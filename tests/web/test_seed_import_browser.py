"""Issue 15 in a real browser (Debian chromium, Playwright, live server): a university's liaison office checks a
シーズ集 CSV (cp932, one row refused), fixes it, sees the dry run row by row, imports it and follows the progress
to the end; the seeds are then in the database, and the same file checked again changes nothing. axe-core finds
no serious violation on the dry run and the finished import. Screenshots go to
var/test-artifacts/screenshots/."""

from __future__ import annotations

from sqlmodel import Session, col, select

from api import models as m
from api.auth import issue_token

from .conftest import browser_sign_in, shot
from .test_accessibility import blocking_violations

HEADER = "外部ID,題目,概要,キーワード,市場領域,成熟度,公開範囲,研究者"


def _office(live) -> tuple[dict, int, int]:
    """A liaison-office account of 長岡技術科学大学; the university's id and 高田 誠's."""
    with Session(live.app.state.db) as session:
        university = session.exec(select(m.Organisation).where(m.Organisation.name == "長岡技術科学大学")).one()
        takada = session.exec(select(m.Researcher).where(m.Researcher.name == "高田 誠")).one()
        office = m.Account(name="長岡技大 シーズ集担当", role=m.Role.coordinator, organisation_id=university.id,
                           is_liaison_office=True)
        session.add(office)
        session.commit()
        return {"Authorization": f"Bearer {issue_token(session, office)}"}, m.stored_id(university), m.stored_id(takada)


def _csv(researcher_id: int, second_researcher: str) -> bytes:
    lines = [HEADER,
             f"NUT-001,雪室を使った農産物の低温熟成,雪の冷気で野菜を熟成し糖度を高める。,\"雪室、熟成\",M3,実証段階,公開,"
             f"{researcher_id}",
             f"NUT-002,もみ殻くん炭の土壌改良効果,もみ殻を炭化して水田の土壌改良に使う。,もみ殻,M3,基礎研究,公開,"
             f"{second_researcher}"]
    return "\r\n".join(lines).encode("cp932")


def _choose(page, name: str, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def test_a_liaison_office_checks_then_imports_a_csv(page, live_server):
    headers, university_id, takada = _office(live_server)
    browser_sign_in(page, live_server, headers)
    page.get_by_role("link", name="シーズの一括登録").click()
    page.wait_for_url(f"{live_server.url}/seed-import")
    assert page.locator("#layout").get_by_text("外部ID", exact=True).count() == 1
    assert page.locator("#template-xlsx").get_attribute("href") == "/seed-import/template?format=xlsx"

    _choose(page, "シーズ集.csv", _csv(takada, "999999"))  # the second row names no researcher of the university
    page.get_by_role("button", name="確認する（まだ登録しません）").click()
    page.wait_for_selector("#check-result")
    assert page.locator("#count-rejected").inner_text() == "1 件"
    assert "研究者ID 999999 の研究者は、この大学に登録されていません。" in page.locator("#check-rows").inner_text()
    assert page.locator("#run-import").count() == 0
    shot(page, "40-seed-import-rejected")

    _choose(page, "シーズ集.csv", _csv(takada, str(takada)))
    page.get_by_role("button", name="確認する（まだ登録しません）").click()
    page.wait_for_selector("#check-result")
    assert page.locator("#count-create").inner_text() == "2 件"
    assert page.locator("#count-rejected").inner_text() == "0 件"
    assert page.locator("#check-rows tbody tr").count() == 2
    shot(page, "41-seed-import-dry-run")
    assert blocking_violations(page) == []  # axe-core, as tests/web/test_accessibility.py runs it
    with Session(live_server.app.state.db) as session:  # the dry run wrote nothing
        assert session.exec(select(m.Seed).where(col(m.Seed.external_id).like("NUT-%"))).first() is None

    page.get_by_role("button", name="この内容で取り込む").click()
    page.wait_for_selector('#import-status[data-status="succeeded"]', timeout=120_000)
    assert page.locator("#done-create").inner_text() == "2 件"
    shot(page, "42-seed-import-done")
    assert blocking_violations(page) == []
    with Session(live_server.app.state.db) as session:
        seeds = session.exec(select(m.Seed).where(col(m.Seed.external_id).like("NUT-%"))).all()
    assert {(s.external_id, s.organisation_id, s.researcher_id) for s in seeds} == {
        ("NUT-001", university_id, takada), ("NUT-002", university_id, takada)}

    page.goto(f"{live_server.url}/seed-import")  # the same file again: nothing to do
    _choose(page, "シーズ集.csv", _csv(takada, str(takada)))
    page.get_by_role("button", name="確認する（まだ登録しません）").click()
    page.wait_for_selector("#check-result")
    assert page.locator("#count-unchanged").inner_text() == "2 件"
    assert page.locator("#count-create").inner_text() == "0 件"
