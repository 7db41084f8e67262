"""Fair use on the pages (issue 12): over a limit, a Japanese HTML page (or htmx fragment) with 429 and
Retry-After; a full report queue shows its reason on the coordinator's form, which keeps the input.

The module's app gets small limits and a full queue by swapping its `app.state` objects: nothing is timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from api.rate_limits import RateLimits
from api.reports_jobs import ReportQueue
from api.settings import Settings

from .conftest import sign_in


@contextmanager
def swapped(state, name: str, value: object) -> Iterator[None]:
    """`app.state.<name>` replaced for a while (pytest's monkeypatch cannot restore Starlette's State)."""
    shared = getattr(state, name)
    setattr(state, name, value)
    try:
        yield
    finally:
        setattr(state, name, shared)


@pytest.fixture
def strict(page_client):
    with swapped(page_client.app.state, "rate_limits", RateLimits(Settings(rate_limit_match="2/hour",
                                                                           rate_limit_write="1/hour"))):
        yield


def assert_refused_page(response, wording: str) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert "混み合っています" in response.text and wording in response.text


def test_results_page_and_fragment_share_the_match_limit(page_client, page_actors, strict):
    sign_in(page_client, page_actors.poster)
    assert page_client.get("/needs/901").status_code == 200
    assert page_client.get("/needs/901/results?scope=cross-region", headers={"HX-Request": "true"}).status_code == 200
    page = page_client.get("/needs/901")
    assert_refused_page(page, "照合の回数が上限（1時間あたり2回）に達しました")
    assert "<html" in page.text
    fragment = page_client.get("/needs/901/results", headers={"HX-Request": "true"})
    assert_refused_page(fragment, "照合の回数が上限")
    assert "<html" not in fragment.text  # swapped into the result list
    # the API's budget is the same account's
    api = page_client.post("/api/v1/needs/901/matches", json={}, headers=page_actors.poster)
    assert api.status_code == 429 and api.json()["error"]["code"] == "rate_limited"

    sign_in(page_client, page_actors.other_poster)
    assert page_client.get("/needs/901").status_code == 200


def test_seed_forms_are_limited_as_writes(page_client, page_actors, strict):
    csrf = sign_in(page_client, page_actors.researcher)
    form = {"csrf": csrf, "title": "もみ殻灰の土壌改良材", "summary": "もみ殻の灰を土壌改良に使う。",
            "visibility": "public"}
    assert page_client.post("/seeds/1/edit", data=form, follow_redirects=False).status_code == 303
    assert_refused_page(page_client.post("/seeds/new", data=form), "登録・変更の回数が上限（1時間あたり1回）")


def test_a_full_report_queue_is_told_on_the_form(page_client, page_actors):
    full = ReportQueue(running=1, waiting=0)
    full.admit()  # the one place is taken
    csrf = sign_in(page_client, page_actors.coordinator)
    with swapped(page_client.app.state, "report_queue", full):
        response = page_client.post("/coordinator/reports", data={"csrf": csrf, "formats": "json", "regions": "九州"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "レポートの作成が混み合っています" in response.text and 'id="queue-full"' in response.text
    assert "レポートを作成する" in response.text and 'name="regions" value="九州" checked' in response.text
