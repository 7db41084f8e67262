"""The Japanese web pages: Jinja2 templates, plain form posts, htmx for the result filters.

The pages sit on the same rules as the API: the object-level checks of api/access.py, the validation of
the API models (NeedCreate, SeedCreate, SeedUpdate) and, where possible, the API route functions
themselves (create_need, create_seed, update_seed, withdraw_seed, needs_for_seed, list_*), so a page can
never do what the API would refuse. Sign-in is by the API token an administrator issued, kept in a
signed HttpOnly cookie (api/web/session.py); every POST form carries a CSRF token tied to the session.

Errors on these pages are HTML pages in Japanese (the API keeps its JSON format): the route class below
turns ApiError and engine errors into an error page, and a missing sign-in into a redirect to /signin.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import FormData

from matcher.errors import InvalidInputError, MatcherError, NotFoundError
from matcher.regions import REGION_ORDER, default_prefectures

from .. import access
from ..auth import account_for_token
from ..deps import SessionDep
from ..errors import ApiError, forbidden, validation_details
from ..models import (MARKET_AREAS, Account, Collaboration, Need, NeedCreate, NeedVisibility, Organisation, OrgKind,
                      Readiness, Role, Seed, SeedCreate, SeedUpdate, SeedVisibility, Status)
from ..schemas import MatchOptions
from ..web import session as websession
from ..web.highlight import highlight
from . import needs as needs_api
from . import reports as reports_api
from . import seeds as seeds_api

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TEMPLATES.env.filters["highlight"] = highlight

MARKET_AREAS_CSV = Path(__file__).resolve().parents[2] / "corpora" / "master" / "market_areas.csv"

ROLE_NAMES = {Role.poster: "ニーズ投稿者", Role.researcher: "研究者", Role.coordinator: "コーディネーター", Role.admin: "管理者"}
SCOPES = {"all": "すべて", "cross-region": "地域外のみ", "in-region": "地域内のみ"}
LEVELS = {"university": "大学ごと", "researcher": "研究者ごと", "seed": "シーズごと"}
NEED_VISIBILITY = {NeedVisibility.public: "公開（ログインした利用者が読めます）",
                   NeedVisibility.confidential: "非公開（自分とコーディネーター・管理者だけが読めます）"}
SEED_VISIBILITY = {SeedVisibility.public: "公開", SeedVisibility.registered: "ログイン利用者に公開",
                   SeedVisibility.private: "下書き（自分だけ。照合の対象になりません）"}
STATUS_NAMES = {Status.active: "有効", Status.withdrawn: "取り下げ済み"}
FIELD_LABELS = {"title": "タイトル", "description": "内容", "summary": "概要", "prefecture_code": "都道府県",
                "market_areas": "市場領域", "collaboration": "連携の形", "visibility": "公開範囲",
                "keywords": "キーワード", "readiness": "研究の段階"}
CSRF_MESSAGE = ("フォームの有効期限が切れたか、このサイト以外から送信されました。"
                "ページを読み込み直してから、もう一度送信してください。")


def market_areas() -> list[tuple[str, str]]:
    import csv

    with open(MARKET_AREAS_CSV, encoding="utf-8", newline="") as f:
        names = {row["code"]: row["name"] for row in csv.DictReader(f)}
    return [(code, names.get(code, code)) for code in MARKET_AREAS]


def prefecture_groups() -> list[tuple[str, list]]:
    prefectures = list(default_prefectures())
    return [(region, [p for p in prefectures if p.region == region]) for region in REGION_ORDER]


# ---- errors, sign-in, rendering ------------------------------------------------
class SignInRequired(Exception):
    pass


class PageRoute(APIRoute):
    """Turns the API's errors into Japanese HTML pages for the routes of this router."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.headers.get("HX-Request"):  # an htmx fragment: send the whole page to sign-in
                    current = urlsplit(request.headers.get("HX-Current-URL", ""))
                    target = safe_next(current.path + (f"?{current.query}" if current.query else ""))
                    return Response(status_code=204, headers={"HX-Redirect": f"/signin?next={quote(target)}"})
                url = f"/signin?next={quote(target)}"
                return RedirectResponse(url, status_code=303)
            except ApiError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError as exc:
                details = [f"{d.field}: {d.message}" for d in validation_details(exc.errors())]
                return error_page(request, 422, "URL またはフォームの値に誤りがあります。", details)
            except NotFoundError as exc:
                return error_page(request, 404, str(exc))
            except InvalidInputError as exc:
                return error_page(request, 422, str(exc))
            except MatcherError as exc:
                return error_page(request, 503, str(exc))

        return route


router = APIRouter(route_class=PageRoute, include_in_schema=False, default_response_class=HTMLResponse)


def current_account(request: Request, session: Session) -> Account | None:
    ws = websession.load(request)
    return account_for_token(session, ws.token) if ws.token else None


def signed_in(request: Request, session: SessionDep) -> Account:
    account = current_account(request, session)
    if account is None:
        raise SignInRequired()
    return account


def maybe_signed_in(request: Request, session: SessionDep) -> Account | None:
    return current_account(request, session)


SignedIn = Annotated[Account, Depends(signed_in)]
MaybeSignedIn = Annotated[Account | None, Depends(maybe_signed_in)]


def require(account: Account, *roles: Role, message: str) -> None:
    if account.role not in roles:
        raise forbidden(message)


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def check_csrf(request: Request, form: FormData) -> None:
    if not websession.load(request).csrf_ok(request, form.get("csrf")):
        raise ApiError(403, "csrf", CSRF_MESSAGE)


def render(request: Request, name: str, context: dict | None = None, status: int = 200,
           headers: dict | None = None) -> HTMLResponse:
    ws = websession.load(request)
    account = getattr(request.state, "page_account", None)
    ctx = {"request": request, "csrf": ws.csrf(request), "me": account, "ROLE_NAMES": ROLE_NAMES, "Role": Role,
           "path": request.url.path, **(context or {})}
    response = TEMPLATES.TemplateResponse(request, name, ctx, status_code=status, headers=headers)
    websession.store(request, response, ws)
    return response


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    websession.store(request, response, websession.load(request))
    return response


ERROR_TITLES = {401: "ログインが必要です", 403: "この操作はできません", 404: "見つかりません",
                413: "送信内容が大きすぎます", 422: "入力内容に誤りがあります", 503: "しばらくお待ちください"}


def error_page(request: Request, status: int, message: str, details: list[str] | None = None) -> HTMLResponse:
    name = "_error.html" if request.headers.get("HX-Request") else "error.html"  # htmx swaps it into the list
    return render(request, name, {"title": ERROR_TITLES.get(status, "エラーが発生しました"),
                                          "message": message, "details": details or [], "status": status},
                  status=status)


def remember(request: Request, account: Account | None) -> Account | None:
    request.state.page_account = account
    return account


def form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for detail in validation_details(exc.errors()):
        field = detail.field.split(".")[0] or "_"
        message = detail.message
        if message == "1文字以上で入力してください。":
            message = "入力してください。"
        errors.setdefault(field, message)
    return errors


def split_keywords(text: str) -> list[str]:
    return [k for k in re.split(r"[,\n、，]", text or "") if k.strip()]


# ---- home, sign-in ------------------------------------------------------------
@router.get("/")
def home(request: Request, session: SessionDep, account: MaybeSignedIn):
    remember(request, account)
    prefectures = default_prefectures()
    orgs = {o.id: o for o in session.exec(select(Organisation)).all()}

    def region(code: str | None) -> str | None:
        try:
            return prefectures.get(code).region if code else None
        except ValueError:
            return None

    seeds = Counter(region(orgs[s.organisation_id].prefecture_code)
                    for s in session.exec(select(Seed).where(Seed.status == Status.active)).all()
                    if s.visibility != SeedVisibility.private and s.organisation_id in orgs)
    needs = Counter(region(n.prefecture_code) for n in session.exec(
        select(Need).where(Need.status == Status.active, Need.visibility == NeedVisibility.public)).all())
    universities = Counter(region(o.prefecture_code) for o in orgs.values() if o.kind == OrgKind.university)
    rows = [(r, seeds[r], needs[r], universities[r]) for r in REGION_ORDER]
    totals = (sum(seeds.values()), sum(needs.values()), sum(universities.values()))
    return render(request, "home.html", {"rows": rows, "totals": totals})


@router.get("/signin")
def signin_form(request: Request, session: SessionDep, account: MaybeSignedIn, next: str = "/"):
    remember(request, account)
    return render(request, "signin.html", {"next": safe_next(next), "error": None})


def safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/signin")
def signin(request: Request, session: SessionDep, form: Form):
    remember(request, None)
    target = safe_next(form.get("next"))
    if not websession.load(request).csrf_ok(request, form.get("csrf")):
        return render(request, "signin.html", {"next": target, "error": CSRF_MESSAGE}, status=403)
    token = (form.get("token") or "").strip()
    account = account_for_token(session, token) if token else None
    if account is None:
        message = ("APIトークンを入力してください。" if not token else
                   "このAPIトークンではログインできません（誤り・失効・停止のいずれか）。管理者に確認してください。")
        return render(request, "signin.html", {"next": target, "error": message}, status=401 if token else 422)
    websession.renew(request, token)
    return redirect(request, target)


@router.post("/signout")
def signout(request: Request, form: Form):
    check_csrf(request, form)
    websession.renew(request, None)
    return redirect(request, "/")


# ---- needs ---------------------------------------------------------------------
def need_form_context(values: dict, errors: dict) -> dict:
    return {"values": values, "errors": errors, "prefecture_groups": prefecture_groups(),
            "market_areas": market_areas(), "collaborations": list(Collaboration),
            "visibilities": NEED_VISIBILITY, "labels": FIELD_LABELS}


POSTERS = (Role.poster, Role.admin)
POSTER_ONLY = "ニーズを投稿できるのは、ニーズ投稿者（自治体・企業）と管理者のアカウントです。"


@router.get("/needs")
def needs_list(request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    page = needs_api.list_needs(session, account, limit=200, offset=0, mine=False)
    prefectures = default_prefectures()
    return render(request, "needs_list.html", {"needs": page.items, "total": page.total, "prefectures": prefectures,
                                               "may_post": account.role in POSTERS})


@router.get("/needs/new")
def need_new(request: Request, account: SignedIn):
    remember(request, account)
    require(account, *POSTERS, message=POSTER_ONLY)
    return render(request, "need_form.html", need_form_context({"visibility": "public", "market_areas": []}, {}))


@router.post("/needs/new")
def need_create(request: Request, session: SessionDep, account: SignedIn, form: Form):
    remember(request, account)
    check_csrf(request, form)
    require(account, *POSTERS, message=POSTER_ONLY)
    values = {"title": form.get("title", ""), "description": form.get("description", ""),
              "prefecture_code": form.get("prefecture_code", ""), "market_areas": form.getlist("market_areas"),
              "collaboration": form.get("collaboration", ""), "visibility": form.get("visibility", "public")}
    data = {k: v for k, v in values.items() if not (k in ("collaboration", "visibility") and not v)}
    try:
        body = NeedCreate.model_validate(data)
    except ValidationError as exc:
        errors = form_errors(exc)
        if not values["prefecture_code"]:
            errors["prefecture_code"] = "都道府県を選んでください。"
        return render(request, "need_form.html", need_form_context(values, errors), status=422)
    created = needs_api.create_need(body, request, session, account)
    return redirect(request, f"/needs/{created.id}?created=1")


def match_options(scope: str, level: str, region: str, market_area: str) -> MatchOptions:
    return MatchOptions(scope=scope or "all", level=level or "university",
                        include_regions=[region] if region else [], market_areas=[market_area] if market_area else [])


def results_context(request: Request, session: Session, account: Account, need: Need, scope: str, level: str,
                    region: str, market_area: str) -> dict:
    filters = {"scope": scope or "all", "level": level or "university", "region": region, "market_area": market_area}
    try:
        options = match_options(scope, level, region, market_area)
    except ValidationError as exc:
        fields = {d.field.split(".")[0] for d in validation_details(exc.errors())}
        return {"need": need, "match": None, "filters": filters,
                "filter_error": "絞り込みの条件に誤りがあります（" + "・".join(sorted(fields)) + "）。選び直してください。"}
    match = needs_api.run_match(request, session, account, need, options)
    return {"need": need, "match": match, "filters": filters, "filter_error": None}


def filter_query(filters: dict) -> str:
    return urlencode({k: v for k, v in filters.items() if v})


def results_page_context(need: Need, session: Session, account: Account) -> dict:
    org = session.get(Organisation, need.organisation_id) if need.organisation_id else None
    return {"poster": org.name if org else None, "prefecture": default_prefectures().get(need.prefecture_code),
            "may_edit": account.role == Role.admin or need.owner_account_id == account.id,
            "scopes": SCOPES, "levels": LEVELS, "regions": REGION_ORDER, "market_areas": market_areas(),
            "market_names": dict(market_areas()), "visibilities": NEED_VISIBILITY, "status_names": STATUS_NAMES}


@router.get("/needs/{need_id}")
def need_results(need_id: int, request: Request, session: SessionDep, account: SignedIn, scope: str = "",
                 level: str = "", region: str = "", market_area: str = "", created: str = ""):
    remember(request, account)
    need = access.readable_need(session, account, need_id)
    ctx = results_context(request, session, account, need, scope, level, region, market_area)
    ctx.update(results_page_context(need, session, account), created=bool(created))
    return render(request, "need_results.html", ctx, status=200 if ctx["match"] else 422)


@router.get("/needs/{need_id}/results")
def need_results_fragment(need_id: int, request: Request, session: SessionDep, account: SignedIn, scope: str = "",
                          level: str = "", region: str = "", market_area: str = ""):
    """The result list alone, for htmx; the browser's address follows the filters."""
    remember(request, account)
    need = access.readable_need(session, account, need_id)
    ctx = results_context(request, session, account, need, scope, level, region, market_area)
    ctx.update(results_page_context(need, session, account))
    query = filter_query(ctx["filters"])
    headers = {"HX-Push-Url": f"/needs/{need_id}" + (f"?{query}" if query else ""), "Vary": "HX-Request"}
    return render(request, "_results.html", ctx, headers=headers)


# ---- seeds -----------------------------------------------------------------------
RESEARCHER_ONLY = "シーズを登録できるのは、研究者情報が結び付いた研究者のアカウントです。"


def seed_form_context(values: dict, errors: dict, seed: Seed | None = None) -> dict:
    return {"values": values, "errors": errors, "seed": seed, "market_areas": market_areas(),
            "readiness": list(Readiness), "visibilities": SEED_VISIBILITY, "labels": FIELD_LABELS}


def seed_values(form: FormData) -> dict:
    return {"title": form.get("title", ""), "summary": form.get("summary", ""), "keywords": form.get("keywords", ""),
            "market_areas": form.getlist("market_areas"), "readiness": form.get("readiness", ""),
            "visibility": form.get("visibility", "public")}


def seed_data(values: dict) -> dict:
    data = dict(values, keywords=split_keywords(values["keywords"]))
    return {k: v for k, v in data.items() if not (k in ("readiness", "visibility") and not v)}


@router.get("/my/seeds")
def my_seeds(request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    require(account, Role.researcher, message=RESEARCHER_ONLY)
    me = access.researcher_of(session, account)
    page = seeds_api.list_seeds(session, account, limit=200, offset=0, mine=True)
    return render(request, "my_seeds.html", {"seeds": page.items, "researcher": me, "status_names": STATUS_NAMES,
                                             "visibilities": SEED_VISIBILITY})


@router.get("/seeds/new")
def seed_new(request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    require(account, Role.researcher, message=RESEARCHER_ONLY)
    return render(request, "seed_form.html", seed_form_context({"visibility": "public", "market_areas": []}, {}))


@router.post("/seeds/new")
def seed_create(request: Request, session: SessionDep, account: SignedIn, form: Form):
    remember(request, account)
    check_csrf(request, form)
    require(account, Role.researcher, message=RESEARCHER_ONLY)
    values = seed_values(form)
    try:
        body = SeedCreate.model_validate(seed_data(values))
    except ValidationError as exc:
        return render(request, "seed_form.html", seed_form_context(values, form_errors(exc)), status=422)
    created = seeds_api.create_seed(body, request, session, account)
    return redirect(request, f"/seeds/{created.id}?saved=1")


@router.get("/seeds/{seed_id}")
def seed_detail(seed_id: int, request: Request, session: SessionDep, account: SignedIn, saved: str = ""):
    remember(request, account)
    seed = access.readable_seed(session, account, seed_id)
    owner = account.role == Role.admin or access.owns_seed(session, account, seed)
    hits = None
    if account.role in access.READ_ALL or access.owns_seed(session, account, seed):
        hits = seeds_api.needs_for_seed(seed_id, request, session, account, top_k=10)
    public = seeds_api.get_seed(seed_id, session, account)
    return render(request, "seed_detail.html", {
        "seed": public, "may_edit": owner and seed.status == Status.active, "hits": hits, "saved": bool(saved),
        "prefectures": default_prefectures(), "status_names": STATUS_NAMES, "visibilities": SEED_VISIBILITY,
        "market_names": dict(market_areas())})


@router.get("/seeds/{seed_id}/edit")
def seed_edit(seed_id: int, request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    seed = access.writable_seed(session, account, seed_id)
    values = {"title": seed.title, "summary": seed.summary, "keywords": "、".join(seed.keywords),
              "market_areas": list(seed.market_areas), "readiness": seed.readiness.value if seed.readiness else "",
              "visibility": seed.visibility.value}
    return render(request, "seed_form.html", seed_form_context(values, {}, seed))


@router.post("/seeds/{seed_id}/edit")
def seed_update(seed_id: int, request: Request, session: SessionDep, account: SignedIn, form: Form):
    remember(request, account)
    check_csrf(request, form)
    seed = access.writable_seed(session, account, seed_id)
    values = seed_values(form)
    data = seed_data(values)
    data.setdefault("readiness", None)  # an emptied choice clears the stage
    try:
        body = SeedUpdate.model_validate(data)
    except ValidationError as exc:
        return render(request, "seed_form.html", seed_form_context(values, form_errors(exc), seed), status=422)
    seeds_api.update_seed(seed_id, body, request, session, account)
    return redirect(request, f"/seeds/{seed_id}?saved=1")


@router.post("/seeds/{seed_id}/withdraw")
def seed_withdraw(seed_id: int, request: Request, session: SessionDep, account: SignedIn, form: Form):
    remember(request, account)
    check_csrf(request, form)
    seeds_api.withdraw_seed(seed_id, request, session, account)
    return redirect(request, f"/seeds/{seed_id}?saved=withdrawn")


# ---- coordinator: cross-region reports (issue 5) -----------------------------------------
# The form is validated by the API's own ReportRequest and the job is started, read and downloaded through the
# API's route functions (start_report, list_reports, get_report, download_report_file), so the page can do
# exactly what the API allows a coordinator, with the cookie sign-in in place of the bearer token.
COORDINATORS = (Role.coordinator, Role.admin)
COORDINATOR_ONLY = "このページはコーディネーターと管理者のためのものです。"
REPORT_FORMATS = {"html": "HTML（ブラウザで開くレポート）", "xlsx": "Excel（XLSX、表ごとにシート）", "csv": "CSV（表ごとに1ファイル）",
                  "pdf": "PDF（印刷・配布用）", "json": "JSON（データ連携用）"}
CSV_ENCODINGS = {"utf-8-sig": "UTF-8（BOM付き。多くの表計算ソフト・新しい Excel）",
                 "cp932": "Shift_JIS（cp932。古い Excel 向け。表せない文字は〓に置き換え）"}
JOB_STATUS_NAMES = {"queued": "待機中", "running": "作成中", "succeeded": "完了", "failed": "失敗"}
REPORT_LABELS = {"regions": "地域ブロック", "prefectures": "都道府県", "market_areas": "市場領域", "since": "開始日",
                 "until": "終了日", "formats": "出力形式", "unmet_threshold": "未充足とみなす閾値",
                 "assignment_cap": "1大学あたりの上限", "csv_encoding": "CSV の文字コード", "_": "入力"}
REPORT_MESSAGES = {  # page wording for the pydantic error types the generic table leaves vague
    "date_parsing": "日付は 2026-04-01 の形で入力してください。",
    "date_from_datetime_parsing": "日付は 2026-04-01 の形で入力してください。",
    "date_from_datetime_inexact": "日付は 2026-04-01 の形で入力してください。",
    "float_parsing": "0〜1 の数で入力してください（例: 0.875）。",
    "int_parsing": "1以上の整数で入力してください。",
    "int_from_float": "1以上の整数で入力してください。",
}
REPORT_FILE_HEADERS = {  # the report is the project's own HTML without scripts: refuse any that slipped in
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
FILE_LABELS = {"report.html": "HTML レポート", "report.pdf": "PDF", "report.xlsx": "Excel（XLSX）",
               "report.json": "JSON"}


def report_defaults() -> dict:
    return {"regions": [], "market_areas": [], "since": "", "until": "", "formats": ["html"],
            "unmet_threshold": str(reports_api.DEFAULT_UNMET_THRESHOLD), "assignment_cap": "",
            "csv_encoding": "utf-8-sig"}


def report_values(form: FormData) -> dict:
    def text(name: str) -> str:
        return unicodedata.normalize("NFKC", form.get(name) or "").strip()  # full-width digits typed in Japanese

    return {"regions": form.getlist("regions"), "market_areas": form.getlist("market_areas"),
            "since": text("since"), "until": text("until"), "formats": form.getlist("formats"),
            "unmet_threshold": text("unmet_threshold"), "assignment_cap": text("assignment_cap"),
            "csv_encoding": form.get("csv_encoding") or "utf-8-sig"}


def report_form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error, detail in zip(exc.errors(), validation_details(exc.errors())):
        field = detail.field.split(".")[0] or "_"
        message = REPORT_MESSAGES.get(error.get("type", ""), detail.message)
        if field == "formats" and error.get("type") == "too_short":
            message = "出力形式を1つ以上選んでください。"
        elif field == "unmet_threshold":
            message = REPORT_MESSAGES["float_parsing"]
        errors.setdefault(field, message)
    return errors


def coordinator_context(request: Request, session: Session, account: Account, values: dict, errors: dict) -> dict:
    jobs = reports_api.list_reports(request, session, account)[:30]
    return {"values": values, "errors": errors, "labels": REPORT_LABELS, "regions": REGION_ORDER,
            "market_areas": market_areas(), "formats": REPORT_FORMATS, "csv_encodings": CSV_ENCODINGS,
            "jobs": [job_view(j) for j in jobs]}


def jst(text: str | None) -> str:
    if not text:
        return ""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")


def scope_text(params: dict) -> str:
    names = dict(market_areas())
    parts = []
    if params.get("regions"):
        parts.append("・".join(params["regions"]))
    if params.get("prefectures"):
        prefectures = default_prefectures()
        parts.append("・".join(prefectures.get(c).name for c in params["prefectures"]))
    if params.get("market_areas"):
        parts.append("・".join(f"{m} {names.get(m, '')}".strip() for m in params["market_areas"]))
    if params.get("since") or params.get("until"):
        parts.append(f"期間 {params.get('since') or ''}〜{params.get('until') or ''}")
    return "、".join(parts) or "全国のすべてのニーズ"


def job_view(job) -> dict:
    """What the templates show of a ReportJobOut."""
    percent = round(100 * job.done / job.total) if job.total else (100 if job.status == "succeeded" else 0)
    files = [{"name": f.name, "label": FILE_LABELS.get(f.name, f"CSV: {f.name}" if f.name.endswith(".csv") else f.name),
              "url": f"/coordinator/reports/{job.id}/files/{quote(f.name)}", "html": f.name.endswith(".html")}
             for f in job.files]
    files.sort(key=lambda f: (not f["html"], f["name"] != "report.pdf", f["name"] != "report.xlsx", f["name"]))
    return {"id": job.id, "status": job.status, "status_name": JOB_STATUS_NAMES.get(job.status, job.status),
            "stage": job.stage, "done": job.done, "total": job.total, "percent": percent, "message": job.message,
            "summary": job.summary, "files": files, "scope": scope_text(job.params), "params": job.params,
            "formats": [REPORT_FORMATS.get(f, f).split("（")[0] for f in job.params.get("formats", [])],
            "created": jst(job.created_at), "finished": jst(job.finished_at),
            "active": job.status in ("queued", "running"),
            "html_file": next((f for f in files if f["name"] == "report.html"), None)}


@router.get("/coordinator")
def coordinator(request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    require(account, *COORDINATORS, message=COORDINATOR_ONLY)
    return render(request, "coordinator.html", coordinator_context(request, session, account, report_defaults(), {}))


@router.post("/coordinator/reports")
def coordinator_start_report(request: Request, session: SessionDep, account: SignedIn, form: Form):
    remember(request, account)
    check_csrf(request, form)
    require(account, *COORDINATORS, message=COORDINATOR_ONLY)
    values = report_values(form)
    data = {k: v for k, v in values.items()
            if not (k in ("since", "until", "unmet_threshold", "assignment_cap") and v == "")}
    errors: dict[str, str] = {}
    body = None
    try:
        body = reports_api.ReportRequest.model_validate(data)
    except ValidationError as exc:
        errors = report_form_errors(exc)
    if body is not None and body.since and body.until and body.until <= body.since:
        errors["until"] = "終了日は開始日より後の日付にしてください（終了日の前日までが対象です）。"
    if errors:
        return render(request, "coordinator.html", coordinator_context(request, session, account, values, errors),
                      status=422)
    job = reports_api.start_report(body, request, session, account)
    return redirect(request, f"/coordinator/reports/{job.id}")


@router.get("/coordinator/reports/{job_id}")
def coordinator_report(job_id: int, request: Request, session: SessionDep, account: SignedIn):
    remember(request, account)
    require(account, *COORDINATORS, message=COORDINATOR_ONLY)
    job = job_view(reports_api.get_report(job_id, request, session, account))
    return render(request, "coordinator_report.html", {"job": job})


@router.get("/coordinator/reports/{job_id}/status")
def coordinator_report_status(job_id: int, request: Request, session: SessionDep, account: SignedIn):
    """The job's state alone, polled by htmx every 2 s while it is queued or running."""
    remember(request, account)
    require(account, *COORDINATORS, message=COORDINATOR_ONLY)
    job = job_view(reports_api.get_report(job_id, request, session, account))
    return render(request, "_report_status.html", {"job": job}, headers={"Cache-Control": "no-store"})


@router.get("/coordinator/reports/{job_id}/files/{name}")
def coordinator_report_file(job_id: int, name: str, request: Request, session: SessionDep, account: SignedIn):
    """A file of the job for the signed-in coordinator: the API's own download (only names in job.files)."""
    remember(request, account)
    require(account, *COORDINATORS, message=COORDINATOR_ONLY)
    response = reports_api.download_report_file(job_id, name, request, session, account)
    response.headers.update(REPORT_FILE_HEADERS)
    return response
