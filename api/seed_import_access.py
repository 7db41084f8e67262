"""Who may import a シーズ集, and into which university: the liaison office of that university, and admins.

The office is an account flag (`Account.is_liaison_office`), honoured only on an account of a university
organisation (api/introductions.py `is_liaison_of`); an office imports into its own university alone, an
admin into any university it names.
"""

from __future__ import annotations

from sqlmodel import Session, select

from .errors import forbidden
from .introductions import is_liaison_of
from .models import Account, Organisation, OrgKind, Role

NOT_AN_IMPORTER = "シーズの一括登録は、大学の産学連携窓口のアカウントと管理者だけが行えます。"
OTHER_UNIVERSITY = "産学連携窓口のアカウントは、自分の大学のシーズだけを取り込めます。"


def may_import(session: Session, account: Account) -> bool:
    """Whether the account may import into some university (the page and its link)."""
    if account.role == Role.admin and not account.disabled:
        return True
    return account.organisation_id is not None and is_liaison_of(session, account, account.organisation_id)


def check_importer(session: Session, account: Account) -> None:
    if not may_import(session, account):
        raise forbidden(NOT_AN_IMPORTER)


def check_target(session: Session, account: Account, organisation_id: int) -> None:
    """The account may import into `organisation_id` (a Japanese 403 otherwise)."""
    check_importer(session, account)
    if account.role != Role.admin and account.organisation_id != organisation_id:
        raise forbidden(OTHER_UNIVERSITY)


def target_choices(session: Session, account: Account) -> list[Organisation]:
    """The universities the account may import into: its own for an office, every university for an admin."""
    if account.role == Role.admin:
        return list(session.exec(select(Organisation).where(Organisation.kind == OrgKind.university)
                                 .order_by(Organisation.name)).all())
    own = session.get(Organisation, account.organisation_id) if account.organisation_id else None
    return [own] if own is not None else []
