"""Issue 14 (OWASP API5, function-level authorisation): every route of the app × every role, from one table.

The routes come from `app.routes` (the API, the pages, the docs, the mounts), so a route added later without a
row in `EXPECTED` fails `test_every_route_has_a_row`. Each route is called as admin, coordinator, researcher,
poster and anonymous, and must answer the status its row says:

- API bodies are `{"unexpected": 1}`: a role let through gets the 422 of validation, a role kept out its 403, an
  anonymous caller 401; so nothing is written, and the role check is what the status shows.
- Deleting routes name an id that does not exist (`MISSING`): 404 for those let through.
- Pages are called with a signed-in session (or none) and, for forms, its CSRF token: anonymous callers are sent
  to /signin (303), roles kept out get the Japanese 403 page.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.limits import ID_MAX

from ..web.conftest import signed_in_browsers

ROLES = ("admin", "coordinator", "researcher", "poster", "anonymous")
MISSING = ID_MAX  # an id no row has
BAD_BODY = {"unexpected": 1}
MOUNT_SAMPLES = {"/static": "/static/site.css", "/docs-assets": "/docs-assets/favicon.png"}

# "METHOD path": statuses for admin, coordinator, researcher, poster, anonymous
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    # ---- API: needs
    "POST /api/v1/needs": (422, 403, 403, 422, 401),
    "GET /api/v1/needs": (200, 200, 200, 200, 401),
    "GET /api/v1/needs/{need_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/needs/{need_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/needs/{need_id}": (404, 404, 404, 404, 401),
    "POST /api/v1/needs/{need_id}/matches": (422, 422, 422, 422, 401),
    # ---- API: seeds
    "POST /api/v1/seeds": (422, 403, 422, 403, 401),
    "GET /api/v1/seeds": (200, 200, 200, 200, 401),
    "GET /api/v1/seeds/{seed_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/seeds/{seed_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/seeds/{seed_id}": (404, 404, 404, 404, 401),
    "GET /api/v1/seeds/{seed_id}/needs": (200, 200, 200, 403, 401),
    # ---- API: people
    "GET /api/v1/me": (200, 200, 200, 200, 401),
    "GET /api/v1/organisations": (200, 200, 200, 200, 401),
    "POST /api/v1/organisations": (422, 403, 403, 403, 401),
    "GET /api/v1/organisations/{organisation_id}": (200, 200, 200, 200, 401),
    "POST /api/v1/researchers": (422, 403, 403, 403, 401),
    "GET /api/v1/researchers/{researcher_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/researchers/{researcher_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/researchers/{researcher_id}": (404, 404, 404, 404, 401),  # a missing id: nothing erased
    "GET /api/v1/researchers/me/export": (404, 404, 200, 404, 401),  # only an account with a researcher profile
    "DELETE /api/v1/researchers/me": (404, 404, 422, 404, 401),  # without confirm=true: nothing erased
    # ---- API: reports
    "POST /api/v1/reports": (422, 422, 403, 403, 401),
    "GET /api/v1/reports": (200, 200, 403, 403, 401),
    "GET /api/v1/reports/{job_id}": (404, 404, 403, 403, 401),
    "GET /api/v1/reports/{job_id}/files/{name}": (404, 404, 403, 403, 401),
    # ---- API: admin
    "GET /api/v1/admin/tokens": (200, 403, 403, 403, 401),
    "DELETE /api/v1/admin/tokens/{token_id}": (404, 403, 403, 403, 401),
    "POST /api/v1/admin/accounts/{account_id}/disable": (404, 403, 403, 403, 401),
    "POST /api/v1/admin/accounts/{account_id}/enable": (404, 403, 403, 403, 401),
    "GET /api/v1/admin/audit": (200, 403, 403, 403, 401),
    "GET /api/v1/admin/support/seeds/{seed_id}": (422, 403, 403, 403, 401),  # no reason given
    # ---- health and docs
    "GET /livez": (200, 200, 200, 200, 200),
    "GET /readyz": (200, 200, 200, 200, 200),
    "GET /openapi.json": (200, 200, 200, 200, 200),
    "GET /docs": (200, 200, 200, 200, 200),
    "GET /redoc": (200, 200, 200, 200, 200),
    "MOUNT /docs-assets": (200, 200, 200, 200, 200),
    "MOUNT /static": (200, 200, 200, 200, 200),
    # ---- pages
    "GET /": (200, 200, 200, 200, 200),
    "GET /help/scores": (200, 200, 200, 200, 200),
    "GET /privacy": (200, 200, 200, 200, 200),
    "GET /signin": (200, 200, 200, 200, 200),
    "POST /signin": (422, 422, 422, 422, 422),  # no token typed
    "POST /signout": (303, 303, 303, 303, 303),
    "GET /needs": (200, 200, 200, 200, 303),
    "GET /needs/new": (200, 403, 403, 200, 303),
    "GET /needs/municipalities": (200, 200, 200, 200, 303),
    "POST /needs/new": (422, 403, 403, 422, 303),
    "GET /needs/{need_id}": (200, 200, 200, 200, 303),
    "GET /needs/{need_id}/results": (200, 200, 200, 200, 303),
    "GET /my/seeds": (403, 403, 200, 403, 303),
    "GET /seeds/new": (403, 403, 200, 403, 303),
    "POST /seeds/new": (403, 403, 422, 403, 303),
    "GET /seeds/{seed_id}": (200, 200, 200, 200, 303),
    "GET /seeds/{seed_id}/edit": (200, 403, 200, 403, 303),
    "POST /seeds/{seed_id}/edit": (422, 403, 422, 403, 303),
    "POST /seeds/{seed_id}/withdraw": (404, 404, 404, 404, 303),
    "GET /coordinator": (200, 200, 403, 403, 303),
    "POST /coordinator/reports": (422, 422, 403, 403, 303),
    "GET /coordinator/reports/{job_id}": (404, 404, 403, 403, 303),
    "GET /coordinator/reports/{job_id}/status": (404, 404, 403, 403, 303),
    "GET /coordinator/reports/{job_id}/files/{name}": (404, 404, 403, 403, 303),
}
# path parameters: real rows, except where a call would change one (a withdrawal names a missing id)
PARAMS = {"need_id": 901, "seed_id": 1, "organisation_id": 1, "job_id": MISSING, "token_id": MISSING,
          "account_id": MISSING, "name": "report.html"}
MISSING_FOR = {"DELETE /api/v1/needs/{need_id}", "DELETE /api/v1/seeds/{seed_id}", "POST /seeds/{seed_id}/withdraw",
               "DELETE /api/v1/researchers/{researcher_id}"}
# forms that must not be valid, so that the role check, not a write, decides (the seed edit: an empty title)
FORMS = {"POST /coordinator/reports": {"formats": "nothing"}, "POST /seeds/{seed_id}/edit": {"title": ""}}


def route_keys(app) -> list[str]:
    """Every route the app answers, with its full path: FastAPI keeps included routers nested
    (`iter_route_contexts` walks them as the app does)."""
    keys = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            keys.append(f"MOUNT {route.path}")
        else:
            keys += [f"{method} {route.path}" for method in sorted(route.methods or ()) if method != "HEAD"]
    return keys


def test_every_route_has_a_row(client):
    keys = route_keys(client.app)
    assert len(keys) == len(set(keys))
    missing = sorted(set(keys) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(keys))
    assert not missing, f"routes without a row in EXPECTED: {missing}"
    assert not stale, f"rows of EXPECTED for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def callers(client, actors) -> dict[str, tuple[TestClient, str]]:
    """Per role: a browser signed in with that role's token (anonymous: none), and its CSRF token."""
    return signed_in_browsers(client, actors, ROLES)


def call(client, actors, callers, key: str, role: str) -> int:
    method, path = key.split(" ", 1)
    if method == "MOUNT":
        return client.get(MOUNT_SAMPLES[path]).status_code
    params = dict(PARAMS, researcher_id=actors.researcher_id)
    url = re.sub(r"\{(\w+)\}", lambda m: str(MISSING if key in MISSING_FOR else params[m.group(1)]), path)
    if path.startswith("/api/"):
        headers = getattr(actors, role) if role != "anonymous" else {}
        body = {"json": BAD_BODY} if method in ("POST", "PATCH") else {}
        return client.request(method, url, headers=headers, **body).status_code
    browser, csrf = callers[role]
    if method == "POST":
        return browser.post(url, data={"csrf": csrf, **FORMS.get(key, {})}, follow_redirects=False).status_code
    return browser.get(url, headers={"accept": "text/html"}, follow_redirects=False).status_code


def test_every_route_answers_every_role_as_the_table_says(client, actors, callers):
    keys = sorted(route_keys(client.app), key=lambda k: k == "POST /signout")  # it signs everyone out: last
    wrong = []
    for key in keys:
        got = tuple(call(client, actors, callers, key, role) for role in ROLES)
        if got != EXPECTED[key]:
            wrong.append(f'"{key}": {got},  # expected {EXPECTED[key]}')
    assert not wrong, "\n".join(wrong)
    print(f"\nroutes × roles walked: {len(keys)} × {len(ROLES)} = {len(keys) * len(ROLES)}")
