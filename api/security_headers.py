"""Security headers on every answer, in one pure ASGI middleware (issue 14, item 6).

- `Content-Security-Policy` by what is answered: the pages (scripts and styles from this site only: htmx and
  site.css are served from /static, no inline script), the API docs (Swagger UI and ReDoc from local assets;
  they need inline styles and ReDoc a blob: worker), and the API's JSON (nothing at all). A route that sets its
  own policy keeps it: a report file (`REPORT_FILE_HEADERS`, the same for the API's download and the page's).
- `frame-ancestors 'none'` and `X-Frame-Options: DENY` (clickjacking), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin` (a need's address never reaches another site), and `Cache-Control: no-store`
  on every dynamic answer, since nearly all of them carry confidential needs, seeds or contact details
  (static assets keep their own caching).
- `Strict-Transport-Security` when the deployment says it runs behind TLS (`MATCHER_COOKIE_SECURE=true`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# a report is the project's own HTML without scripts: refuse any that slipped in (issue 5's page route, and now
# the API's download too)
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
REPORT_FILE_HEADERS = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
                       "Cache-Control": "private, no-store"}

DOCS_PATHS = ("/docs", "/redoc")
CACHED_PREFIXES = ("/static/", "/docs-assets/")
HSTS = "max-age=31536000"


def policy_for(path: str, content_type: str) -> str:
    if path in DOCS_PATHS:
        return DOCS_CSP
    if content_type.startswith("text/html"):
        return PAGE_CSP
    return API_CSP


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False):
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, headers: MutableHeaders, path: str) -> None:
        csp = headers.get("content-security-policy") or policy_for(path, headers.get("content-type", ""))
        headers["Content-Security-Policy"] = csp
        headers["X-Frame-Options"] = "SAMEORIGIN" if "frame-ancestors 'self'" in csp else "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", "same-origin")
        if not path.startswith(CACHED_PREFIXES):
            headers.setdefault("Cache-Control", "no-store")
        if self.hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
