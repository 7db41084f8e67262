"""The API's documentation pages, /docs (Swagger UI) and /redoc, from local assets: nothing from a CDN.

FastAPI's own pages load Swagger UI from a CDN, so they stay blank offline and in closed networks (LGWAN).
The assets come from the `fastapi-offline` package (a dependency, updated with pip like any other; see its
RECORD for the Swagger UI and ReDoc versions); the pages are ours, without inline script, so the strict
`DOCS_CSP` of api/security_headers.py holds. `MATCHER_DOCS_ENABLED=false` leaves all of it, and /openapi.json,
out of the app (production).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"

SWAGGER_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>{title} - ReDoc</title>
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """/docs, /redoc and their assets (the app was built with FastAPI's own docs pages off)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    fields = {"title": escape(app.title), "assets": ASSETS_URL, "openapi": escape(openapi_url)}
    swagger, redoc = SWAGGER_PAGE.format(**fields), REDOC_PAGE.format(**fields)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger)

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc)
