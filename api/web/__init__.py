"""The Japanese web pages: Jinja2 templates, plain form posts, htmx for the result filters and report progress.

One router per audience (`home`: everyone; `needs`: posters and readers of needs, `need_results`: a need's
partners and their export; `seeds`: researchers; `seed_import`: a university liaison office's シーズ集;
`coordinator`: coordinators' reports), over the same rules as the API: the checks of api/access.py, the
validation of the API models, and the same use cases (api/usecases.py) and reads (api/queries.py,
api/reports_jobs.py) the JSON routes call. Sign-in is by the API token an administrator issued; the browser
then holds only a random session id in an HttpOnly cookie, and the session lives on the server (`session`,
api/sessions.py); every POST form carries a CSRF token tied to the session (`forms`).

Errors on these pages are HTML pages in Japanese (the API keeps its JSON format): the route class
(`routing.PageRoute`) renders the API's own error table (api/errors.http_error) as a page, and a missing
sign-in becomes a redirect to /signin. `install` adds the pages to the app, and the same page to the app's
error handlers for unknown addresses.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import (
    admin_accounts,
    admin_orgs,
    alerts,
    coordinator,
    feedback,
    home,
    introductions,
    need_results,
    needs,
    notifications,
    privacy,
    profile,
    seed_import,
    seed_list,
    seeds,
)
from .render import error_response

# needs before need_results: /needs/new and /needs/municipalities before /needs/{need_id}
ROUTERS = (home.router, needs.router, need_results.router, seeds.router, coordinator.router, privacy.router,
           introductions.router, feedback.router, notifications.router, seed_import.router,
           alerts.router, profile.router, seed_list.router, admin_orgs.router, admin_accounts.router)  # issue 15

__all__ = ["ROUTERS", "error_response", "include_pages"]


def include_pages(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
