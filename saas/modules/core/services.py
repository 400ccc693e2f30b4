"""Contacts and accounts: list, read, create, update, delete within one tenant-bound session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from saas.db import TenantBase, TenantSession
from saas.errors import NotFound, ValidationError
from saas.modules.core.models import Account, Contact
from saas.modules.core.pagination import ListOrder, Page, SortKey, keyset_page, ordered_page
from saas.modules.registry import registry
from saas.webhooks.events import emit, record_payload

Record = TypeVar("Record", bound=TenantBase)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _default_sortable(model: Any) -> dict[str, InstrumentedAttribute]:
    """Name (when the record has one) and the time stamps."""
    names = {"name": "sort_name", "created_at": "created_at", "updated_at": "updated_at"}
    return {name: getattr(model, attribute) for name, attribute in names.items() if hasattr(model, attribute)}


class RecordService(Generic[Record]):
    """The operations every simple CRM record shares; one instance per model."""

    def __init__(
        self,
        model: type[Record],
        noun: str,
        search: tuple[InstrumentedAttribute, ...],
        *,
        announce: bool = False,
        sortable: dict[str, InstrumentedAttribute] | None = None,
    ) -> None:
        self.model = model
        self.noun = noun
        self.search = search
        # Columns a list may be sorted by (``sort=<name>`` / ``sort=-<name>``), besides custom fields.
        self.sortable = sortable if sortable is not None else _default_sortable(model)
        # Whether changes emit ``<noun>.created|updated|deleted`` webhooks (saas.webhooks).
        self.announce = announce

    def emit(self, session: TenantSession, verb: str, record: Record) -> None:
        if self.announce:
            emit(session, f"{self.noun}.{verb}", record_payload(record))

    newest_first: ClassVar[bool] = False
    """Whether lists run from the highest sort key down (a timeline) instead of up (names)."""

    def sort_keys(self) -> tuple[SortKey, ...]:
        """The list order; (``sort_name``, ``id``) by default, backed by an index on both."""
        model: Any = self.model
        return (
            SortKey(model.sort_name, lambda record: record.sort_name),
            SortKey(model.id, lambda record: record.id, uuid.UUID),
        )

    def filters(self, **filters: Any) -> list[ColumnElement[bool]]:
        """SQL conditions for a list's filters; record types with filters override this."""
        if filters:
            raise TypeError(f"{self.noun} lists take no filters, got {sorted(filters)}")
        return []

    def list(
        self,
        session: TenantSession,
        *,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        where: Sequence[ColumnElement[bool]] = (),
        sort: str | None = None,
        **filters: Any,
    ) -> Page[Record]:
        """One page in list order, by keyset: constant cost at any depth; ``q`` searches; ``where`` adds
        conditions (custom field filters); ``sort`` names another order (see :meth:`order`)."""
        query = select(self.model).where(*self.filters(**{k: v for k, v in filters.items() if v is not None}))
        query = query.where(*where)
        if q:
            pattern = f"%{_escape_like(q.strip().lower())}%"
            query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in self.search)))
        if sort:
            return ordered_page(session, query, self.order(session, sort), cursor=cursor, limit=limit)
        return keyset_page(
            session, query, self.sort_keys(), cursor=cursor, limit=limit, descending=self.newest_first
        )

    def sort_names(self, session: TenantSession) -> list[str]:
        """What ``sort`` may name (each also with a leading ``-`` for descending order)."""
        from saas.modules.core import custom_fields  # custom fields build on this module

        return [*self.sortable, *custom_fields.sortable_names(session, self.model.__tablename__)]

    def order(self, session: TenantSession, sort: str) -> ListOrder:
        """The order ``sort`` names: a built-in column or a custom field, ``-`` first for descending."""
        from saas.modules.core import custom_fields

        name = sort.removeprefix("-")
        if name in self.sortable:
            column: Any = self.sortable[name]
        elif name.startswith(custom_fields.PREFIX):
            column = custom_fields.sort_column(session, self.model.__tablename__, name)
        else:
            choices = ", ".join(self.sort_names(session)) or "nothing but their own order"
            message = f"{self.noun.capitalize()} lists sort by {choices}; put - first for descending."
            raise ValidationError(f"Unknown sort {sort!r}.", {"sort": [message]})
        return ListOrder(sort, column, self.model.id, descending=sort.startswith("-"))

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
        self.emit(session, "created", record)
        return record

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Record:
        record = self.get(session, record_id)
        with session.no_autoflush:  # check the changed record before it reaches the database
            for name, value in changes.items():
                setattr(record, name, value)
            self.check(session, record)
        session.flush()
        session.refresh(record)
        self.emit(session, "updated", record)
        return record

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        record = self.get(session, record_id)
        self.emit(session, "deleted", record)
        session.delete(record)
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
        registry.admit_person(session, record.email)  # e.g. not a person who asked to be erased


contacts = ContactService(
    Contact,
    "contact",
    search=(Contact.first_name, Contact.last_name, Contact.sort_name, Contact.email),
    announce=True,
    sortable={
        "name": Contact.sort_name,
        "first_name": Contact.first_name,
        "last_name": Contact.last_name,
        "email": Contact.email,
        "title": Contact.title,
        "created_at": Contact.created_at,
        "updated_at": Contact.updated_at,
    },
)
accounts = RecordService(
    Account,
    "account",
    search=(Account.sort_name, Account.domain),
    announce=True,
    sortable={
        "name": Account.sort_name,
        "domain": Account.domain,
        "industry": Account.industry,
        "created_at": Account.created_at,
        "updated_at": Account.updated_at,
    },
)


def account_choices(session: TenantSession, limit: int = 200) -> list[tuple[uuid.UUID, str]]:
    """Accounts to offer in a contact form, in name order."""
    rows = session.execute(
        select(Account.id, Account.name).order_by(Account.sort_name, Account.id).limit(limit)
    )
    return [(row.id, row.name) for row in rows]
