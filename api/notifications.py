"""In-app notifications (issue 15): `notify` creates one for an account; the pages and the API list them and mark
them read.

There is no mail server: a notification lives in the database and shows on the notifications page, with the
unread count in every page's header. `MailSender` is the one hook for mail later: a sender set with
`set_mail_sender` is handed each notification after the transaction that created it commits (never for one rolled
back). Nothing is sent by default.

`notify` only adds a row to the caller's transaction, so it can go with any write (an introduction request, its
answer; a standing alert, api/alerts.py) and commit or roll back with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import event, update
from sqlmodel import Session, col, func, select

from .errors import not_found
from .introduction_models import Notification, NotificationOut, NotificationPage
from .models import Account, stored_id, utcnow


@dataclass(frozen=True)
class Outgoing:
    """What a mail sender is handed: the notification's content, copied when it was made (after the commit, the
    session's rows may no longer be read)."""

    account_id: int
    kind: str
    message: str
    link: str | None


class MailSender(Protocol):
    """Sends one notification by mail to its account (the sender finds the address for `account_id`)."""

    def send(self, notification: Outgoing) -> None: ...


_mail_sender: MailSender | None = None
PENDING = "notifications_to_mail"  # in Session.info: what the current transaction will hand the sender


def set_mail_sender(sender: MailSender | None) -> None:
    """Plug in (or remove, with None) the mail sender every committed notification is handed to."""
    global _mail_sender
    _mail_sender = sender


def notify(session: Session, account_id: int, *, kind: str, message: str, link: str | None = None) -> Notification:
    """A notification for account `account_id`, in the caller's transaction (the caller commits)."""
    row = Notification(account_id=account_id, kind=kind, message=message[:500], link=link)
    session.add(row)
    if _mail_sender is not None:
        if not event.contains(session, "after_commit", _hand_over):
            event.listen(session, "after_commit", _hand_over)
            event.listen(session, "after_rollback", _forget)
        session.info.setdefault(PENDING, []).append(Outgoing(account_id, kind, row.message, link))
    return row


def _hand_over(session: Session) -> None:
    sender = _mail_sender
    for outgoing in session.info.pop(PENDING, []):
        if sender is not None:
            sender.send(outgoing)


def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)  # rolled back: nothing was notified, so nothing is mailed


def _out(row: Notification) -> NotificationOut:
    return NotificationOut(id=stored_id(row), kind=row.kind, message=row.message, link=row.link,
                           created_at=row.created_at, read=row.read_at is not None)


def unread_count(session: Session, account_id: int) -> int:
    query = select(func.count()).select_from(Notification).where(
        col(Notification.account_id) == account_id, col(Notification.read_at).is_(None))
    return session.exec(query).one()


def page(session: Session, account: Account, *, limit: int = 100, offset: int = 0) -> NotificationPage:
    """The account's notifications, newest first, and how many are unread."""
    query = (select(Notification).where(col(Notification.account_id) == account.id)
             .order_by(col(Notification.id).desc()).offset(offset).limit(limit))
    return NotificationPage(items=[_out(r) for r in session.exec(query).all()],
                            unread=unread_count(session, stored_id(account)))


def mark_read(session: Session, account: Account, notification_id: int) -> NotificationOut:
    """Mark one of the account's own notifications read; another's is missing (404), as it is to the API."""
    row = session.get(Notification, notification_id)
    if row is None or row.account_id != account.id:
        raise not_found("通知", notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
    return _out(row)


def mark_all_read(session: Session, account: Account) -> int:
    """Mark every unread notification of the account read; returns how many were."""
    result = session.exec(update(Notification)
                          .where(col(Notification.account_id) == account.id, col(Notification.read_at).is_(None))
                          .values(read_at=utcnow()))
    session.commit()
    return int(result.rowcount)
