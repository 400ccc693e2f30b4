"""Contacts and accounts: list, read, create, update, delete within one tenant-bound session."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from saas.db import TenantBase, TenantSession
from saas.errors import NotFound, ValidationError
from saas.modules.core.models import Account, Contact

Record = TypeVar("Record", bound=TenantBase)


@dataclass
class Page(Generic[Record]):
    data: list[Record]
    next_cursor: str | None


def _encode_cursor(sort_name: str, record_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_name, str(record_id)]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        sort_name, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(sort_name), uuid.UUID(record_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise ValidationError(
            "Invalid cursor.", {"cursor": ["Use a next_cursor from a previous page."]}
        ) from error


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class RecordService(Generic[Record]):
    """The operations every simple CRM record shares; one instance per model."""

    def __init__(self, model: type[Record], noun: str, search: tuple[InstrumentedAttribute, ...]) -> None:
        self.model = model
        self.noun = noun
        self.search = search

    def list(
        self, session: TenantSession, *, q: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """One page in name order, by keyset (``sort_name``, ``id``): constant cost at any depth."""
        model: Any = self.model
        query = select(model).order_by(model.sort_name, model.id).limit(limit + 1)
        if q:
            pattern = f"%{_escape_like(q.strip().lower())}%"
            query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in self.search)))
        if cursor:
            after = _decode_cursor(cursor)
            query = query.where(tuple_(model.sort_name, model.id) > after)
        rows = list(session.scalars(query))
        next_cursor = (
            _encode_cursor(rows[limit - 1].sort_name, rows[limit - 1].id) if len(rows) > limit else None
        )
        return Page(rows[:limit], next_cursor)

    def get(self, session: TenantSession, record_id: uuid.UUID) -> Record:
        record = session.get(self.model, record_id)
        if record is None:
            raise NotFound(f"No {self.noun} with id {record_id}.")
        return record

    def create(self, session: TenantSession, data: dict[str, Any]) -> Record:
        record = self.model(**data)
        self.check(session, record)
        session.add(record)
        session.flush()
        session.refresh(record)
        return record

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Record:
        record = self.get(session, record_id)
        with session.no_autoflush:  # check the changed record before it reaches the database
            for name, value in changes.items():
                setattr(record, name, value)
            self.check(session, record)
        session.flush()
        session.refresh(record)
        return record

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        session.delete(self.get(session, record_id))
        session.flush()

    def check(self, session: TenantSession, record: Record) -> None:
        """Rules that need the whole record or the database; schemas check single fields."""


class ContactService(RecordService[Contact]):
    def check(self, session: TenantSession, record: Contact) -> None:
        if not (record.first_name or record.last_name):
            raise ValidationError(
                "A contact needs a first or a last name.", {"last_name": ["Enter a first or last name."]}
            )
        if record.account_id is not None and session.get(Account, record.account_id) is None:
            raise ValidationError("Unknown account.", {"account_id": ["No account with this id."]})


contacts = ContactService(
    Contact, "contact", search=(Contact.first_name, Contact.last_name, Contact.sort_name, Contact.email)
)
accounts = RecordService(Account, "account", search=(Account.sort_name, Account.domain))


def account_choices(session: TenantSession, limit: int = 200) -> list[tuple[uuid.UUID, str]]:
    """Accounts to offer in a contact form, in name order."""
    rows = session.execute(
        select(Account.id, Account.name).order_by(Account.sort_name, Account.id).limit(limit)
    )
    return [(row.id, row.name) for row in rows]
