"""Web page fixtures: a TestClient app for fast checks, and a live uvicorn server + Debian chromium for the
browser tests. Both run over a fresh SQLite database loaded with the golden corpus and the shared real
encoder (tests/conftest.py). Browser tests fail, never skip, when chromium or playwright is missing."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.api.conftest import GENEROUS_LIMITS, Actors, make_actors
from tests.conftest import GOLDEN, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def token_of(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def golden_settings(tmp: Path) -> Settings:
    return Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'web.db'}", load_demo=True, corpus_dir=GOLDEN,
                    **GENEROUS_LIMITS)


# ---- fast tests: TestClient ------------------------------------------------------
@pytest.fixture(scope="module")
def page_client(encoder, tmp_path_factory):
    app = create_app(golden_settings(tmp_path_factory.mktemp("web-pages")), encoder=encoder)
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def page_actors(page_client) -> Actors:
    return make_actors(page_client.app)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def signed_in_browsers(client: TestClient, actors: Actors, roles: tuple[str, ...]) -> dict[str, tuple[TestClient, str]]:
    """Per role: a browser signed in with that role's token ("anonymous": not signed in), and its CSRF token."""
    made = {}
    for role in roles:
        browser = TestClient(client.app)
        csrf = csrf_of(browser.get("/signin").text)
        if role != "anonymous":
            signed = browser.post("/signin", data={"csrf": csrf, "token": token_of(getattr(actors, role))},
                                  follow_redirects=False)
            assert signed.status_code == 303
            csrf = csrf_of(browser.get("/").text)
        made[role] = (browser, csrf)
    return made


def sign_in(client: TestClient, headers: dict) -> str:
    """Sign `client` in with the token in `headers`; return the session's CSRF token."""
    client.cookies.clear()
    csrf = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"csrf": csrf, "token": token_of(headers), "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


# ---- browser tests: live server + chromium ----------------------------------------
@dataclass
class Live:
    url: str
    app: object
    actors: Actors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(encoder, tmp_path_factory):
    import uvicorn

    app = create_app(golden_settings(tmp_path_factory.mktemp("web-live")), encoder=encoder)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live uvicorn server did not start")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", app, make_actors(app))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(scripts/system-deps.sh installs it with apt). They do not skip.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright (python) is not installed in the venv: pip install -e '.[test]'")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken chromium must fail loudly too
        playwright.stop()
        pytest.fail(f"chromium at {CHROMIUM} did not start: {exc}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)  # matching runs on a shared 2-core machine
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def browser_sign_in(page, live: Live, headers: dict) -> None:
    page.goto(live.url + "/signin")
    page.get_by_label("APIトークン").fill(token_of(headers))
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(live.url + "/")
