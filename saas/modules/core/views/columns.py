"""The columns of a list page: which ones show (``?columns=``), the custom field ones, sorting by a header,
and the likely-duplicate flag beside a record's name.

The helpers take the list as its :class:`~saas.modules.core.views.records.RecordPages` or, for a list page
of its own (tickets), as a :class:`RecordList`: both give the list's ``service``, its own ``columns`` and
``endpoint("list")``. The saved views section (``core/_saved_views.html``) reads the same three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from flask import g, request, url_for
from flask_babel import gettext

from saas.i18n import N_
from saas.modules.core import custom_fields, duplicates, phones
from saas.modules.core.merge import merge_kind
from saas.modules.core.services import RecordService
from saas.tenants.routing import current_tenant_session


class ListColumn(NamedTuple):
    """A column of a list page."""

    label: str
    value: Callable[[Any], Any]
    key: str
    """Its name in ``?columns=`` and in saved views."""
    sort: str | None = None
    """The list's ``sort`` that orders by this column, when it can be ordered."""
    shown: bool = True
    """Shown unless the reader chose other columns."""


@dataclass(frozen=True)
class RecordList:
    """A list page not built from ``RecordPages`` (the ticket list), as the column helpers and the saved
    views section see it."""

    service: RecordService[Any]
    """The record type's ``RecordService``: its table names the columns' custom fields and the views."""
    columns: tuple[ListColumn, ...]
    """The page's own columns (the first shown one links to the record); custom fields add theirs."""
    list_endpoint: str

    def endpoint(self, action: str) -> str:
        """The list page's endpoint, named as ``RecordPages.endpoint("list")`` names it."""
        if action != "list":
            raise ValueError(f"A RecordList knows its list page only, not {action!r}.")
        return self.list_endpoint


def _day_of(attribute: str) -> Callable[[Any], str]:
    return lambda record: f"{getattr(record, attribute):%Y-%m-%d}"


def shown_phone(stored: str | None) -> str:
    """A stored phone number in the reader's format: the reader is taken to be in the workspace's default
    region (read once per request), until people have a region of their own. The ``phone`` filter."""
    if not stored:
        return ""
    if "reader_phone_region" not in g:
        g.reader_phone_region = phones.phone_region(current_tenant_session())
    return phones.display_phone(stored, g.reader_phone_region)


def phone_column(label: str = N_("Phone"), key: str = "phone") -> ListColumn:
    """The optional phone column of a person or company list, in the reader's format."""
    return ListColumn(label, lambda record: shown_phone(getattr(record, key)), key, shown=False)


TIMESTAMP_COLUMNS = (
    ListColumn(N_("Created"), _day_of("created_at"), "created_at", sort="created_at", shown=False),
    ListColumn(N_("Updated"), _day_of("updated_at"), "updated_at", sort="updated_at", shown=False),
)
"""When a record was created and last changed: optional columns of every record list."""


def _shown_value(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return value


def custom_columns(entity: str) -> list[ListColumn]:
    """One column per custom field of ``entity``; rows must carry ``custom_fields`` (see :func:`annotate`)."""
    columns = []
    for definition in custom_fields.list_fields(current_tenant_session(), entity):
        key = custom_fields.key_of(definition)
        name = f"{custom_fields.PREFIX}{key}"
        sortable = definition.field_type not in custom_fields.UNSORTABLE_TYPES
        columns.append(
            ListColumn(
                definition.label,
                lambda record, key=key: _shown_value(getattr(record, "custom_fields", {}).get(key)),
                name,
                sort=name if sortable else None,
                shown=False,
            )
        )
    return columns


def requested_keys() -> list[str]:
    """The ``columns`` the URL asks for: repeated parameters (the chooser) or one comma-separated list."""
    return [
        key.strip() for value in request.args.getlist("columns") for key in value.split(",") if key.strip()
    ]


def columns_of(pages_of: Any) -> tuple[list[ListColumn], list[ListColumn]]:
    """Every column the list can show, and the ones it shows: those asked for in order, else its own.

    A name no longer known (a deleted custom field in an old link) is left out rather than refused.
    """
    available = [*pages_of.columns, *custom_columns(pages_of.service.model.__tablename__)]
    by_key = {column.key: column for column in available}
    chosen = [by_key[key] for key in dict.fromkeys(requested_keys()) if key in by_key]
    return available, chosen or [column for column in available if column.shown]


def prepare_rows(pages_of: Any, records: list[Any], shown: list[ListColumn]) -> set[Any]:
    """Read what the shown columns need in one query per kind, and return the ids of likely duplicates."""
    entity = pages_of.service.model.__tablename__
    session = current_tenant_session()
    if any(column.key.startswith(custom_fields.PREFIX) for column in shown):
        custom_fields.annotate(session, entity, records)
    kind = merge_kind(pages_of.service.noun)
    if kind is None or not records:
        return set()
    return duplicates.flag_duplicates(session, kind.model, kind.signals, [record.id for record in records])


def list_arguments() -> dict[str, str]:
    """The list's current URL arguments as one value each (chosen columns joined by commas), no cursor."""
    arguments = {name: value for name, value in request.args.items() if name not in ("cursor", "columns")}
    if requested_keys():
        arguments["columns"] = ",".join(dict.fromkeys(requested_keys()))
    return arguments


def sort_link(pages_of: Any, column: ListColumn) -> tuple[str, str | None]:
    """A header's link (ascending first, then descending) and its ``aria-sort`` when so sorted."""
    current = request.args.get("sort") or ""
    if current == column.sort:
        target, state = f"-{column.sort}", "ascending"
    elif current == f"-{column.sort}":
        target, state = column.sort, "descending"
    else:
        target, state = column.sort, None
    return url_for(pages_of.endpoint("list")) + "?" + urlencode({**list_arguments(), "sort": target}), state
