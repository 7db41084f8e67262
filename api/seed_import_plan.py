"""What an import of a シーズ集 would do, row by row, before anything is written: the dry run, and the real import's
first step (api/seed_import_run.py plans again in its write transaction, over the database as it is then).

Each row is checked by the API's own model (`SeedCreate`), so a row is accepted exactly when the API would
accept the seed, with its messages placed by row and column. A row is then:
- `create`: its external id is new in the university;
- `update`: a seed of the university has that external id and some field differs (`changes` names them);
- `unchanged`: every field is as stored; the import does not touch that seed (no write, no change row);
- `rejected`: with at least one Japanese reason.
The import is all or nothing: one rejected row and nothing is written (`ImportPlan.ok`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel import Session, col, select

from .errors import validation_details
from .limits import EXTERNAL_ID_MAX_CHARS
from .models import Organisation, OrgKind, Readiness, Researcher, Seed, SeedCreate, SeedVisibility
from .seed_import_layout import HEADER_OF, VISIBILITY_WORDS, split_list
from .seed_import_read import SourceRow
from .text_checks import one_line

Action = Literal["create", "update", "unchanged", "rejected"]
# the stored fields a row sets, compared for `update` / `unchanged`
FIELDS = ("title", "summary", "keywords", "market_areas", "readiness", "visibility", "researcher_id")
COLUMN_OF_FIELD = {**{f: HEADER_OF[f] for f in FIELDS if f != "researcher_id"},
                   "researcher_id": HEADER_OF["researcher"]}
ACTION_NAMES = {"create": "新規", "update": "更新", "unchanged": "変更なし", "rejected": "取り込めない"}


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str  # the Japanese header ("" for the row as a whole)
    message: str


@dataclass
class RowPlan:
    row: int
    external_id: str
    title: str
    action: Action
    changes: list[str] = field(default_factory=list)  # headers of the columns an update changes
    problems: list[RowProblem] = field(default_factory=list)
    seed_id: int | None = None  # the stored seed an update or an unchanged row names
    values: dict[str, Any] = field(default_factory=dict)  # the checked fields (FIELDS), for create / update


@dataclass
class ImportPlan:
    organisation_id: int
    rows: list[RowPlan]

    @property
    def ok(self) -> bool:
        return not any(r.action == "rejected" for r in self.rows)

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(ACTION_NAMES, 0)
        for row in self.rows:
            counted[row.action] += 1
        return counted

    def problems(self) -> list[RowProblem]:
        return [p for r in self.rows for p in r.problems]

    def writes(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action in ("create", "update")]


class ImportTargetError(ValueError):
    """The organisation named is not a university one may import into; the message is Japanese."""


def university(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None or org.kind != OrgKind.university:
        raise ImportTargetError(f"組織（ID: {organisation_id}）は登録済みの大学ではありません。"
                                "大学の組織IDを指定してください。")
    return org


def plan_import(session: Session, organisation_id: int, rows: list[SourceRow]) -> ImportPlan:
    """The plan of importing `rows` into the university `organisation_id`. Reads only."""
    university(session, organisation_id)
    researchers = _Researchers(session, organisation_id)
    with session.no_autoflush:
        stored = {s.external_id: s for s in session.exec(
            select(Seed).where(Seed.organisation_id == organisation_id, col(Seed.external_id).is_not(None)))}
    first_row_of: dict[str, int] = {}
    plans = []
    for source in rows:
        plan = _plan_row(source, researchers)
        if plan.external_id and plan.external_id in first_row_of:
            first = first_row_of[plan.external_id]
            plan.problems.append(RowProblem(source.number, HEADER_OF["external_id"],
                                            f"外部ID「{plan.external_id}」は {first} 行目と重複しています。"))
        elif plan.external_id:
            first_row_of[plan.external_id] = source.number
        _decide(plan, stored.get(plan.external_id))
        plans.append(plan)
    return ImportPlan(organisation_id, plans)


def _decide(plan: RowPlan, seed: Seed | None) -> None:
    if plan.problems:
        plan.action, plan.values = "rejected", {}
        return
    if seed is None:
        plan.action = "create"
        return
    plan.seed_id = seed.id
    plan.changes = [COLUMN_OF_FIELD[f] for f in FIELDS if _stored(seed, f) != plan.values[f]]
    plan.action = "update" if plan.changes else "unchanged"


def _stored(seed: Seed, name: str) -> Any:
    value = getattr(seed, name)
    return list(value) if isinstance(value, list) else value


def _plan_row(source: SourceRow, researchers: _Researchers) -> RowPlan:
    cells = source.cells
    plan = RowPlan(row=source.number, external_id=cells.get("external_id", ""), title=cells.get("title", ""),
                   action="rejected")

    def problem(key: str, message: str) -> None:
        plan.problems.append(RowProblem(source.number, HEADER_OF.get(key, COLUMN_OF_FIELD.get(key, "")), message))

    _check_external_id(plan.external_id, problem)
    researcher_id = researchers.find(cells.get("researcher", ""), problem)
    visibility = _visibility(cells.get("visibility", ""), problem)
    readiness = _readiness(cells.get("readiness", ""), problem)
    data = {"title": cells.get("title", ""), "summary": cells.get("summary", ""),
            "keywords": split_list(cells.get("keywords", "")),
            "market_areas": split_list(cells.get("market_areas", ""))}
    try:
        checked = SeedCreate.model_validate(data)
    except ValidationError as exc:
        for detail in validation_details(exc.errors()):
            problem(detail.field.split(".")[0] if detail.field else "", detail.message)
        return plan
    if not plan.problems:
        plan.values = {"title": checked.title, "summary": checked.summary, "keywords": checked.keywords,
                       "market_areas": checked.market_areas, "readiness": readiness, "visibility": visibility,
                       "researcher_id": researcher_id}
    return plan


def _check_external_id(external_id: str, problem: Any) -> None:
    if not external_id:
        problem("external_id", "外部IDを入力してください。")
    elif len(external_id) > EXTERNAL_ID_MAX_CHARS:
        problem("external_id", f"外部IDは{EXTERNAL_ID_MAX_CHARS}文字以内にしてください。")
    else:
        try:
            one_line(external_id)
        except ValueError as e:
            problem("external_id", str(e))


def _visibility(cell: str, problem: Any) -> SeedVisibility:
    if not cell:
        return SeedVisibility.public
    found = VISIBILITY_WORDS.get(cell)
    if found is None:
        problem("visibility", f"公開範囲「{cell}」は使えません。"
                              "公開・ログイン利用者に公開・下書き のどれかにしてください。")
        return SeedVisibility.public
    return found


def _readiness(cell: str, problem: Any) -> Readiness | None:
    if not cell:
        return None
    try:
        return Readiness(cell)
    except ValueError:
        choices = "・".join(r.value for r in Readiness)
        problem("readiness", f"成熟度「{cell}」は使えません。{choices} のどれかにしてください。")
        return None


class _Researchers:
    """The university's researchers, found by id or by e-mail; a researcher of another university is refused."""

    def __init__(self, session: Session, organisation_id: int):
        with session.no_autoflush:
            found = session.exec(select(Researcher).where(Researcher.organisation_id == organisation_id)).all()
        self.ids = {r.id for r in found}
        self.by_email: dict[str, list[int]] = {}
        for r in found:
            if r.email and r.id is not None:
                self.by_email.setdefault(r.email.strip().lower(), []).append(r.id)

    def find(self, cell: str, problem: Any) -> int | None:
        if not cell:
            problem("researcher", "研究者（研究者IDかメールアドレス）を入力してください。")
            return None
        if cell.isdigit():
            if int(cell) not in self.ids:
                problem("researcher", f"研究者ID {cell} の研究者は、この大学に登録されていません。")
                return None
            return int(cell)
        matches = self.by_email.get(cell.lower(), [])
        if len(matches) != 1:
            problem("researcher", f"メールアドレス「{cell}」の研究者は、この大学に登録されていません。" if not matches
                    else f"メールアドレス「{cell}」の研究者が複数います。研究者IDで指定してください。")
            return None
        return matches[0]
