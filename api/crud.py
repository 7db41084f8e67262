"""The two steps every write route shares: apply a partial update, then commit and reload."""

from __future__ import annotations

from sqlmodel import Session, SQLModel

from .models import utcnow


def apply_changes(row: SQLModel, changes: SQLModel, *, not_nullable: set[str]) -> None:
    """Copy the fields the client sent; an explicit null never erases a required field."""
    for field, value in changes.model_dump(exclude_unset=True).items():
        if value is None and field in not_nullable:
            continue
        setattr(row, field, value)


def save(session: Session, row: SQLModel) -> SQLModel:
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row
