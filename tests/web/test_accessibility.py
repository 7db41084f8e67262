"""Accessibility (issue 15): axe-core, run inside each main page in Debian chromium, finds no serious or critical
violation. axe-core comes bundled in axe-playwright-python (PyPI); nothing is fetched at run time."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlmodel import Session, col, select

from api import models as m

from .conftest import browser_sign_in, shot

BLOCKING = ("serious", "critical")


def first_id(live, model, *conditions) -> int:
    with Session(live.app.state.db) as session:
        row = session.exec(select(model).where(*conditions).order_by(col(model.id))).first()
        assert row is not None, model
        return m.stored_id(row)


def pages_by_role(live) -> dict[str, list[str]]:
    need = first_id(live, m.Need, m.Need.status == m.Status.active, m.Need.visibility == m.NeedVisibility.public)
    seed = first_id(live, m.Seed, m.Seed.researcher_id == live.actors.researcher_id)
    return {
        "anonymous": ["/signin", "/privacy"],
        "poster": ["/", "/needs", "/needs/new", f"/needs/{need}", "/notifications", "/introductions",
                   "/seeds?q=水"],
        "researcher": ["/my/seeds", "/seeds/new", f"/seeds/{seed}", f"/seeds/{seed}/edit", "/my/profile",
                       f"/researchers/{live.actors.researcher_id}"],
        "coordinator": ["/coordinator", "/coordinator/outcomes"],
        "admin": ["/admin/organisations", "/admin/accounts", "/admin/tokens"],  # issue 15: the admin pages
    }


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} 箇所, 例: {v['nodes'][0]['target']}"
            for v in results.response["violations"] if v.get("impact") in BLOCKING]


@pytest.mark.parametrize("role", ["anonymous", "poster", "researcher", "coordinator", "admin"])
def test_the_main_pages_have_no_serious_accessibility_violations(browser, live_server, role):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        if role != "anonymous":
            browser_sign_in(page, live_server, getattr(live_server.actors, role))
        found = {}
        for path in pages_by_role(live_server)[role]:
            response = page.goto(live_server.url + path)
            assert response is not None and response.ok, (path, response and response.status)
            page.wait_for_load_state("networkidle")
            violations = blocking_violations(page)
            if violations:
                shot(page, f"a11y-{role}-{path.strip('/').replace('/', '-') or 'home'}")
                found[path] = violations
        assert found == {}
    finally:
        context.close()


def test_the_check_finds_a_serious_violation_where_there_is_one(page, live_server):
    """The check can fail: an image link without any text is a serious violation (link-name)."""
    page.goto(live_server.url + "/signin")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<a href=\"/\"><img src=\"x\"></a>')")
    assert any(v.startswith(("link-name", "image-alt")) for v in blocking_violations(page))
