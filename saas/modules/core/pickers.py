"""Relation pickers: the records a reference field may point at, found by the record type's indexed search,
and a typed name or id resolved to one record (the form's fallback without JavaScript)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.services import search_condition
from saas.modules.registry import RecordType, registry
from saas.modules.switches import ModuleDisabled, enabled_module_keys

PICKED_SUFFIX = "_q"
"""A form's relation picker posts the picked id as ``<name>`` and the text typed beside it as ``<name>_q``."""
PICK_LIMIT = 10
"""Matches a picker shows at most: a person narrows a longer list by typing, not by scrolling."""
MAX_PICK_LIMIT = 25
PICK_SAMPLE = 200
"""Matches a keystroke reads through the search index at most, before ordering them by name."""

_LABEL_ATTRIBUTES = ("display_name", "name", "subject", "title")
_DETAIL_ATTRIBUTES = ("email", "domain", "company")


@dataclass(frozen=True)
class Pick:
    """One record a picker offers: its id, the name a person reads, and a line telling equal names apart."""

    id: uuid.UUID
    label: str
    detail: str = ""


def pickable_type(session: TenantSession, table: str, enabled: Collection[str] | None = None) -> RecordType:
    """The record type stored in ``table`` with a service to search it; NotFound for none, ModuleDisabled
    while its module is off (as its own pages answer)."""
    enabled = enabled if enabled is not None else enabled_module_keys(db.session, session.tenant.id)
    # A built-in type is found without reading the workspace's custom objects (a query per keystroke).
    declared = [replace(t, module=m.key) for m in registry if m.key in enabled for t in m.record_types]
    record_type = next((t for t in declared if t.table == table), None)
    record_type = record_type or registry.record_type(session, table, enabled)
    if record_type is None or record_type.service is None:
        if registry.record_type(session, table) is not None:
            raise ModuleDisabled(
                N_("The module of %(entity)s is switched off in this workspace.", entity=table)
            )
        raise NotFound(N_("No record type %(type)s.", type=repr(table)))
    return record_type


def label_of(record: Any) -> str:
    """What a person reads for a record of any type: its display name, name, subject or title."""
    for attribute in _LABEL_ATTRIBUTES:
        value = getattr(record, attribute, None)
        if value:
            return str(value)
    return str(record.id)


def _detail_of(record: Any) -> str:
    return next((str(v) for a in _DETAIL_ATTRIBUTES if (v := getattr(record, a, None))), "")


def pick(session: TenantSession, record_type: RecordType, q: str, limit: int = PICK_LIMIT) -> list[Pick]:
    """The first ``limit`` records of the type that ``q`` finds, in the list's order (by name).

    The list's own search: a record type with a ``search_vector`` is searched through its GIN index, word
    prefixes (``acm`` finds Acme), so each keystroke costs the same at 100k records as at 100.
    """
    service = record_type.service()
    model: Any = service.model
    limit = max(1, min(limit, MAX_PICK_LIMIT))
    condition = search_condition(service.search_vector, q) if service.search_vector is not None else None
    if condition is None:  # no words (or no index): the list's own search and order
        records = service.list(session, q=q.strip()[:200] or None, limit=limit).data
    else:
        # Not the list's walk in name order: matches of a common word cluster by name ("Vandelay ..."), so
        # that walk may read most of the table first. The GIN index gives up to PICK_SAMPLE matches in any
        # order, and those are sorted by name: all of them when fewer (most keystrokes past the first
        # letters), else a sample that further typing narrows.
        sample = select(model.id).where(condition).limit(PICK_SAMPLE).scalar_subquery()
        order = [key.column for key in service.sort_keys()]
        records = session.scalars(select(model).where(model.id.in_(sample)).order_by(*order).limit(limit))
    return [Pick(record.id, label_of(record), _detail_of(record)) for record in records]


def label_for(session: TenantSession, record_type: RecordType, record_id: Any) -> str | None:
    """The label of the record ``record_id`` names (an id or its text), None when there is none."""
    try:
        found = session.get(record_type.service().model, uuid.UUID(str(record_id)))
    except ValueError:
        return None
    return label_of(found) if found is not None else None


class Ambiguous(ValidationError):
    """A typed name that several records carry: the form offers them to choose from (``candidates``)."""

    def __init__(self, detail: str, errors: dict[str, list[str]], candidates: list[Pick]) -> None:
        super().__init__(detail, errors)
        self.candidates = candidates


def resolve(
    session: TenantSession, record_type: RecordType, field: str, text: str, current: str = ""
) -> uuid.UUID | None:
    """The record a reference field's typed ``text`` names: blank is none; the label of ``current`` (the
    id the form held) keeps it; an id is taken as is; else a name that exactly one record carries, or that
    finds exactly one. Unknown or ambiguous text raises ValidationError (``Ambiguous`` with the matches)."""
    text = text.strip()
    if not text:
        return None
    if current and label_for(session, record_type, current) == text:
        return uuid.UUID(current)
    if label_for(session, record_type, text) is not None:
        return uuid.UUID(text)
    found = pick(session, record_type, text, MAX_PICK_LIMIT)
    exact = [p for p in found if p.label.casefold() == text.casefold()]
    if len(exact) == 1 or (len(found) == 1 and not exact):
        return (exact or found)[0].id
    if not found:
        message = N_("Nothing matches “%(text)s”: type another name, or leave it empty.", text=text)
        raise ValidationError(message, {field: [message]})
    message = N_("Several records match “%(text)s”: choose one.", text=text)
    raise Ambiguous(message, {field: [message]}, exact or found)


def resolve_leniently(session: TenantSession, table: str, text: str, current: str) -> str:
    """:func:`resolve` for a form that shows no message about it: the typed record's id if the text names
    one, else the id the form held (empty for none)."""
    try:
        found = resolve(session, pickable_type(session, table), "reference", text, current)
    except (ValidationError, NotFound):
        return current
    return str(found or "")
