"""Custom fields: a tenant's own typed fields on contacts, accounts, leads, deals and tickets.

Each field is a real column ``cf_<key>`` of the record's table in the tenant's own schema, added by
``ALTER TABLE`` as the tenant's role inside the request's transaction, with an index, so that it is
filterable at the cost of any column and exported like one. ``custom_fields`` rows describe them.
Renaming changes the label only (the column keeps its name); deleting hides the field and keeps its data
until an explicit purge drops the column.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, partial
from typing import Any

import marshmallow
from marshmallow import fields, validate
from sqlalchemy import Connection, Select, bindparam, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Boolean, Date, Numeric, String, Uuid

from saas.db import TenantBase, TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core import objects
from saas.modules.core.models import CustomField
from saas.modules.core.workspace_settings import audit_admin_change
from saas.modules.registry import registry
from saas.sql import qualified_column, quote_identifier, quote_identifiers
from saas.tenants.versioned_cache import VersionedTenantCache

PREFIX = "cf_"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_KEYS = frozenset({"custom_fields", "possible_duplicates", "id", "created_at", "updated_at"})


@dataclass(frozen=True)
class FieldType:
    key: str
    label: str
    sql: str
    """The column's type in DDL, as PostgreSQL's ``format_type`` names it (the import checks against it)."""
    column_type: Any

    def value_field(self, definition: CustomField) -> fields.Field:
        """The marshmallow field that validates one value of this type."""
        return _VALUE_FIELDS[self.key](definition)


_VALUE_FIELDS = {
    "text": lambda d: fields.String(validate=validate.Length(max=255)),
    "long_text": lambda d: fields.String(validate=validate.Length(max=100_000)),
    "number": lambda d: fields.Decimal(allow_nan=False, validate=validate.Range(min=-(10**15), max=10**15)),
    "currency": lambda d: fields.Decimal(
        places=2, allow_nan=False, validate=validate.Range(min=-(10**12), max=10**12)
    ),
    "date": lambda d: fields.Date(),
    "boolean": lambda d: fields.Boolean(),
    "single_select": lambda d: fields.String(validate=validate.OneOf(d.options)),
    "multi_select": lambda d: fields.List(fields.String(validate=validate.OneOf(d.options))),
    "url": lambda d: fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2000)),
    "email": lambda d: fields.Email(validate=validate.Length(max=254)),
    "phone": lambda d: fields.String(validate=[validate.Length(max=40), validate.Regexp(r"^[0-9+()./ -]+$")]),
    "reference": lambda d: fields.UUID(),
}  # fmt: skip

TYPES = {
    t.key: t
    for t in (
        FieldType("text", N_("Text"), "character varying(255)", String(255)),
        FieldType("long_text", N_("Long text"), "text", String()),
        FieldType("number", N_("Number"), "numeric", Numeric()),
        FieldType("currency", N_("Currency amount"), "numeric(14,2)", Numeric(14, 2)),
        FieldType("date", N_("Date"), "date", Date()),
        FieldType("boolean", N_("Yes/no"), "boolean", Boolean()),
        FieldType("single_select", N_("Single select"), "character varying(100)", String(100)),
        FieldType("multi_select", N_("Multi select"), "character varying(100)[]", ARRAY(String(100))),
        FieldType("url", N_("URL"), "character varying(2000)", String(2000)),
        FieldType("email", N_("Email"), "character varying(254)", String(254)),
        FieldType("phone", N_("Phone"), "character varying(40)", String(40)),
        FieldType("reference", N_("Reference to a record"), "uuid", Uuid()),
    )
}
SAFE_TYPE_CHANGES = {
    ("text", "long_text"), ("url", "long_text"), ("email", "long_text"), ("phone", "long_text"),
    ("single_select", "long_text"), ("url", "text"), ("email", "text"), ("phone", "text"),
    ("single_select", "text"), ("currency", "number"),
}  # fmt: skip
"""Type changes that keep every stored value as it is; any other would lose or reinterpret data."""


def entities() -> list[str]:
    """The built-in record types (by table) that take custom fields in this installation; every custom
    object's table takes them too (:func:`takes_fields`)."""
    return [record_type.table for module in registry for record_type in module.record_types]


def takes_fields(entity: str) -> bool:
    """Whether records of ``entity`` may have custom fields: a built-in type or a custom object's table."""
    return entity in entities() or objects.is_object_table(entity)


def _table(entity: str) -> Any:
    if objects.is_object_table(entity):
        return objects.record_model(entity).__table__
    registry.load_models()
    return TenantBase.metadata.tables[f"tenant.{entity}"]


def _refuse(message: str, field: str) -> ValidationError:
    return ValidationError(message, {field: [message]})


def _exists(session: TenantSession, entity: str) -> bool:
    """Whether the workspace has the record type ``entity`` (a custom object only while it is live)."""
    return entity in entities() or objects.object_for_table(session, entity) is not None


def _check_entity(session: TenantSession, entity: str) -> None:
    if not _exists(session, entity):
        raise NotFound(
            N_(
                "Records of type %(entity)s take no custom fields; use one of: %(types)s or a custom "
                "object's table.",
                entity=repr(entity),
                types=", ".join(entities()),
            )
        )


def list_fields(
    session: TenantSession, entity: str | None = None, *, deleted: bool = False
) -> list[CustomField]:
    """Defined fields in display order; ``deleted`` lists the ones awaiting a purge instead."""
    cached = session.info.get(objects.FIELDS_CACHE, {})
    if not deleted and entity in cached:
        return [d for d in cached[entity] if is_column_name(d.column_name)]
    query = select(CustomField).where(
        CustomField.deleted_at.is_not(None) if deleted else CustomField.deleted_at.is_(None)
    )
    if entity is not None:
        query = query.where(CustomField.entity == entity)
    ordered = session.scalars(query.order_by(CustomField.entity, CustomField.position, CustomField.label))
    # A row no service could have written (an older import loaded archives unchecked) names nothing.
    return [d for d in ordered if is_column_name(d.column_name)]


DEFINITIONS = VersionedTenantCache("custom_fields")
"""Each record type's live field definitions per process, looked up again after any change of them."""


def fields_for_reading(session: TenantSession, entity: str) -> list[CustomField]:
    """:func:`list_fields` for reading values and filtering lists, from this process's cache: the API
    reads them on every list request. Transient copies, never added to a session: change a field
    through :func:`get_field`."""
    if entity in session.info.get(objects.FIELDS_CACHE, {}):
        return list_fields(session, entity)
    columns = CustomField.__table__.columns.keys()

    def load() -> tuple[tuple[Any, ...], ...]:
        return tuple(tuple(getattr(d, c) for c in columns) for d in list_fields(session, entity))

    rows = DEFINITIONS.get(session.tenant.id, entity, load, session)
    return [CustomField(**dict(zip(columns, row, strict=True))) for row in rows]


@event.listens_for(Session, "before_flush")
def _note_changed_definitions(session: Session, flush_context: object, instances: object) -> None:
    tenant = getattr(session, "tenant", None)
    changed = (*session.new, *session.dirty, *session.deleted)
    if tenant is not None and any(isinstance(obj, CustomField) for obj in changed):
        DEFINITIONS.changed(session, tenant.id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changed_definitions(state: ORMExecuteState) -> None:
    # ``update(CustomField)...`` names no row the flush could see.
    tenant = getattr(state.session, "tenant", None)
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and tenant is not None and table is CustomField.__table__:
        DEFINITIONS.changed(state.session, tenant.id)


def forget_fields(session: TenantSession) -> None:
    """Drop the unit of work's read of the fields (``objects.live_objects``) after a change of them; the
    process cache is bypassed for the rest of the unit of work, and its commit bumps the counter."""
    session.info.pop(objects.FIELDS_CACHE, None)
    DEFINITIONS.changed(session, session.tenant.id)


def is_column_name(name: str) -> bool:
    """Whether ``name`` is a custom field's column name: ``cf_`` and a key."""
    return name.startswith(PREFIX) and bool(_KEY.match(name.removeprefix(PREFIX)))


def get_field(session: TenantSession, field_id: uuid.UUID) -> CustomField:
    definition = session.get(CustomField, field_id)
    if definition is None:
        raise NotFound(N_("No custom field with id %(id)s.", id=field_id))
    return definition


def key_of(definition: CustomField) -> str:
    return definition.column_name.removeprefix(PREFIX)


def _audit(session: TenantSession, action: str, definition: CustomField, **details: Any) -> None:
    facts = {"entity": definition.entity, "column": definition.column_name, **details}
    audit_admin_change(session, f"core.custom_field.{action}", f"custom_field:{definition.id}", facts)


def _check_options(field_type: str, options: list[str] | None) -> list[str]:
    if field_type not in ("single_select", "multi_select"):
        return []
    cleaned = [option.strip() for option in options or [] if option and option.strip()]
    if not cleaned:
        raise _refuse("A select field needs at least one choice.", "options")
    if len(set(cleaned)) != len(cleaned) or any(len(option) > 100 for option in cleaned):
        raise _refuse("Choices must be distinct and at most 100 characters.", "options")
    return cleaned


def _check_default(definition: CustomField, value: Any) -> Any:
    """The default, validated like a value and stored JSON-ready."""
    if value is None or value == "":
        return None
    return to_json(definition, load_value(definition, value, "default_value"))


def define_field(session: TenantSession, entity: str, data: dict[str, Any]) -> CustomField:
    """Add a field: its definition, its typed column and an index, in the caller's transaction."""
    _check_entity(session, entity)
    definition = check_definition(entity, data)
    if definition.reference is not None and not _exists(session, definition.reference):
        raise _refuse(
            N_("This workspace has no record type %(type)s.", type=repr(definition.reference)), "reference"
        )
    taken = session.scalar(
        select(CustomField).where(
            CustomField.entity == entity, CustomField.column_name == definition.column_name
        )
    )
    if taken is not None:
        key = repr(key_of(definition))
        message = (
            N_("%(key)s is taken by a deleted field: purge it first.", key=key)
            if taken.deleted_at
            else N_("%(key)s is taken.", key=key)
        )
        raise _refuse(message, "key")
    session.add(definition)
    session.flush()
    for statement in _column_ddl(entity, definition.column_name, definition.field_type):
        session.execute(text(statement))
    _audit(session, "defined", definition, field_type=definition.field_type)
    forget_fields(session)
    return definition


def check_definition(entity: str, data: dict[str, Any]) -> CustomField:
    """A new field's definition (not yet stored) from ``data``, or :class:`ValidationError`: the rules of
    every definition, whether typed into the API or brought by an archive (``saas.exports.definitions``)."""
    if not takes_fields(entity):
        raise _refuse(
            N_("Custom fields go on one of: %(types)s or a custom object.", types=", ".join(entities())),
            "entity",
        )
    key = (data.get("key") or "").strip().lower()
    if not _KEY.match(key):
        raise _refuse("A key is 1 to 40 lowercase letters, digits or _, starting with a letter.", "key")
    table = _table(entity)
    if key in RESERVED_KEYS or key in table.columns or f"{PREFIX}{key}" in table.columns:
        raise _refuse(
            N_(
                "%(key)s is reserved: %(entity)s have a built-in field of that name.",
                key=repr(key),
                entity=entity,
            ),
            "key",
        )
    field_type = data.get("field_type")
    if field_type not in TYPES:
        raise _refuse(N_("Unknown type; use one of: %(types)s.", types=", ".join(TYPES)), "field_type")
    reference = data.get("reference") if field_type == "reference" else None
    if field_type == "reference" and not takes_fields(reference or ""):
        raise _refuse(
            N_("A reference points to one of: %(types)s or a custom object.", types=", ".join(entities())),
            "reference",
        )
    label = (data.get("label") or "").strip()
    if not label or len(label) > 100:
        raise _refuse("A label is 1 to 100 characters.", "label")
    definition = CustomField(
        entity=entity, column_name=f"{PREFIX}{key}", label=label, field_type=field_type,
        required=bool(data.get("required")), help_text=(data.get("help_text") or "").strip()[:300] or None,
        options=_check_options(field_type, data.get("options")), reference=reference,
        position=int(data.get("position") or 0),
    )  # fmt: skip
    definition.default_value = _check_default(definition, data.get("default_value"))
    return definition


def _column_ddl(entity: str, column: str, field_type: str) -> list[str]:
    """The column and its index (GIN for a multi select's array, so that "contains" uses it)."""
    method = "gin" if field_type == "multi_select" else "btree"
    return [
        f"ALTER TABLE {quote_identifier(entity)} ADD COLUMN {quote_identifier(column)} "
        f"{TYPES[field_type].sql}",
        f"CREATE INDEX {quote_identifier(index_name(entity, column))} ON {quote_identifier(entity)} "
        f"USING {method} ({quote_identifier(column)})",
    ]


def index_name(entity: str, column: str) -> str:
    """``ix_<table>_<column>``; a name past PostgreSQL's 63 bytes (a long object key and field key) is
    cut and made unique by a digest of the whole, since PostgreSQL would cut it silently."""
    name = f"ix_{entity}_{column}"
    if len(name) <= 63:
        return name
    return f"{name[:52]}_{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def recreate_column(connection: Connection, entity: str, column: str, sql_type: str) -> bool:
    """An import's custom field column, when its table, name and type are those of a custom field."""
    field_type = next((t.key for t in TYPES.values() if t.sql == sql_type), None)
    if not takes_fields(entity) or not is_column_name(column) or field_type is None:
        return False
    for statement in _column_ddl(entity, column, field_type):
        connection.exec_driver_sql(statement)
    return True


def update_field(session: TenantSession, field_id: uuid.UUID, changes: dict[str, Any]) -> CustomField:
    """Relabel, re-describe, re-order, add choices, or change the type where no value can be lost."""
    definition = get_field(session, field_id)
    unknown = set(changes) - {
        "label",
        "help_text",
        "required",
        "default_value",
        "options",
        "position",
        "field_type",
    }
    if unknown:
        raise _refuse(
            N_("These cannot be changed: %(names)s.", names=", ".join(sorted(unknown))), sorted(unknown)[0]
        )
    if "field_type" in changes and changes["field_type"] != definition.field_type:
        _change_type(session, definition, changes["field_type"])
    if "label" in changes:
        label = (changes["label"] or "").strip()
        if not label or len(label) > 100:
            raise _refuse("A label is 1 to 100 characters.", "label")
        definition.label = label
    if "options" in changes:
        options = _check_options(definition.field_type, changes["options"])
        removed = set(definition.options) - set(options)
        if removed and _values_in_use(session, definition, removed):
            raise Conflict(
                N_(
                    "Records still use the choices %(choices)s: removing them would lose data.",
                    choices=", ".join(sorted(removed)),
                )
            )
        definition.options = options
    if "help_text" in changes:
        definition.help_text = (changes["help_text"] or "").strip()[:300] or None
    if "required" in changes:
        definition.required = bool(changes["required"])
    if "position" in changes:
        definition.position = int(changes["position"] or 0)
    if "default_value" in changes:
        definition.default_value = _check_default(definition, changes["default_value"])
    session.flush()
    _audit(session, "updated", definition, changed=sorted(changes))
    forget_fields(session)
    return definition


def _values_in_use(session: TenantSession, definition: CustomField, values: set[str]) -> bool:
    column = _column(definition)
    if definition.field_type == "multi_select":
        condition = column.op("&&")(bindparam("values", list(values), type_=ARRAY(String(100))))
    else:
        condition = column.in_(list(values))
    return (
        session.scalar(
            select(func.count()).select_from(text(quote_identifier(definition.entity))).where(condition)
        )
        > 0
    )


def _change_type(session: TenantSession, definition: CustomField, new_type: str) -> None:
    if new_type not in TYPES:
        raise _refuse(N_("Unknown type; use one of: %(types)s.", types=", ".join(TYPES)), "field_type")
    if (definition.field_type, new_type) not in SAFE_TYPE_CHANGES:
        raise Conflict(
            N_(
                "Changing %(label)s from %(old)s to %(new)s could lose or reinterpret stored values; add a "
                "new field instead.",
                label=repr(definition.label),
                old=definition.field_type,
                new=new_type,
            )
        )
    table, column = quote_identifier(definition.entity), quote_identifier(definition.column_name)
    session.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {TYPES[new_type].sql}"))
    definition.field_type = new_type


def delete_field(session: TenantSession, field_id: uuid.UUID) -> CustomField:
    """Hide the field; its column and values stay until :func:`purge_field`."""
    definition = get_field(session, field_id)
    if definition.deleted_at is None:
        definition.deleted_at = datetime.now(UTC)
        _audit(session, "deleted", definition)
    forget_fields(session)
    return definition


def restore_field(session: TenantSession, field_id: uuid.UUID) -> CustomField:
    definition = get_field(session, field_id)
    if definition.deleted_at is not None:
        definition.deleted_at = None
        _audit(session, "restored", definition)
    forget_fields(session)
    return definition


def purge_field(session: TenantSession, field_id: uuid.UUID) -> None:
    """Drop a deleted field's column and every value in it: the one irreversible step."""
    definition = get_field(session, field_id)
    if definition.deleted_at is None:
        raise Conflict("Only a deleted field can be purged: delete it first.")
    session.execute(
        text(
            f"ALTER TABLE {quote_identifier(definition.entity)} "
            f"DROP COLUMN IF EXISTS {quote_identifier(definition.column_name)}"
        )
    )
    _audit(session, "purged", definition)
    session.delete(definition)
    session.flush()
    forget_fields(session)


# Values -------------------------------------------------------------------------------------------------


def _column(definition: CustomField) -> ColumnElement:
    return qualified_column(
        definition.entity, definition.column_name, TYPES[definition.field_type].column_type
    )


def load_value(definition: CustomField, raw: Any, name: str | None = None) -> Any:
    """One value checked against its field's type (None clears it)."""
    return _load_with(lambda: _value_field(definition), definition.label, raw, name or key_of(definition))


def _value_field(definition: CustomField) -> fields.Field:
    return TYPES[definition.field_type].value_field(definition)


def _load_with(value_field: Callable[[], fields.Field], label: str, raw: Any, name: str) -> Any:
    if raw is None or raw == "" or raw == []:
        return None
    try:
        return value_field().deserialize(raw)
    except marshmallow.ValidationError as error:
        message = (
            "; ".join(str(m) for m in error.messages)
            if isinstance(error.messages, list)
            else str(error.messages)
        )
        raise _refuse(f"{label}: {message}", name) from error


def to_json(definition: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | uuid.UUID):
        return str(value)
    return value


def _check_reference(session: TenantSession, definition: CustomField, value: uuid.UUID) -> None:
    table = quote_identifier(definition.reference or "")
    found = session.execute(text(f"SELECT 1 FROM {table} WHERE id = :id"), {"id": value}).first()
    if found is None:
        raise _refuse(_no_referenced_record(definition, value), key_of(definition))


def write_values(
    session: TenantSession, entity: str, record_id: uuid.UUID, raw: dict[str, Any] | None, *, creating: bool
) -> None:
    """Store a record's custom values (given by key); on creation defaults fill the gaps and required
    fields must have a value. Unknown keys are refused."""
    definitions = {key_of(d): d for d in list_fields(session, entity)}
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(definitions))
    if unknown:
        raise _refuse(N_("Unknown custom fields: %(keys)s.", keys=", ".join(unknown)), "custom_fields")
    values: dict[str, Any] = {}
    for key, definition in definitions.items():
        if key in raw:
            values[key] = load_value(definition, raw[key])
        elif creating and definition.default_value is not None:
            values[key] = load_value(definition, definition.default_value)
        else:
            continue
        if values[key] is not None and definition.field_type == "reference":
            _check_reference(session, definition, values[key])
    for key, definition in definitions.items():
        if definition.required and (creating or key in values) and values.get(key) is None:
            raise _refuse(N_("%(label)s is required.", label=definition.label), key)
    if not values:
        return
    assignments = ", ".join(
        f"{quote_identifier(definitions[key].column_name)} = :v_{n}" for n, key in enumerate(values)
    )
    params = {f"v_{n}": value for n, value in enumerate(values.values())}
    statement = text(f"UPDATE {quote_identifier(entity)} SET {assignments} WHERE id = :record_id").bindparams(
        *(
            bindparam(f"v_{n}", type_=TYPES[definitions[key].field_type].column_type)
            for n, key in enumerate(values)
        )
    )
    session.execute(statement, {**params, "record_id": record_id})


def read_values(
    session: TenantSession, entity: str, record_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each record's custom values by key, JSON-ready; one query for a whole page."""
    if not record_ids or not takes_fields(entity):
        return {}
    stored = _stored_values(session, entity, fields_for_reading(session, entity), record_ids)
    return {
        record_id: {key_of(d): to_json(d, value) for d, value in pairs} for record_id, pairs in stored.items()
    }


def _stored_values(
    session: Session, entity: str, definitions: list[CustomField], record_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[CustomField, Any]]]:
    """Each record's (definition, stored value) of ``definitions``, in one query for all the records."""
    if not definitions:
        return {record_id: [] for record_id in record_ids}
    columns = quote_identifiers([d.column_name for d in definitions])
    rows = session.execute(
        text(f"SELECT id, {columns} FROM {quote_identifier(entity)} WHERE id = ANY(:ids)"),
        {"ids": list(record_ids)},
    )
    return {row[0]: list(zip(definitions, row[1:], strict=True)) for row in rows}


def annotate(session: TenantSession, entity: str, records: list[Any]) -> None:
    """Give each record its ``custom_fields`` (for the API's output and the pages)."""
    if not takes_fields(entity):
        return
    values = read_values(session, entity, [record.id for record in records])
    for record in records:
        record.custom_fields = values.get(record.id, {})


def filter_conditions(
    session: TenantSession, entity: str, filters: dict[str, str] | None
) -> list[ColumnElement]:
    """SQL conditions of ``cf_<key>=<value>`` list filters: equality, or "contains" for a multi select."""
    if not filters:
        return []
    return conditions_of(checked_filters(fields_for_reading(session, entity), filters))


def conditions_of(checked: list[tuple[CustomField, Any]]) -> list[ColumnElement]:
    """The SQL conditions of filters from :func:`checked_filters`."""
    conditions = []
    for definition, value in checked:
        column = _column(definition)
        if definition.field_type == "multi_select":
            conditions.append(column.op("@>")(bindparam(None, value, type_=ARRAY(String(100)))))
        else:
            conditions.append(
                column.is_(None) if value is None else column == bindparam(None, value, type_=column.type)
            )
    return conditions


def checked_filters(definitions: list[CustomField], filters: dict[str, str]) -> list[tuple[CustomField, Any]]:
    """Each ``<key>: <text>`` filter as its field and typed value, or :class:`ValidationError`."""
    by_key = {key_of(d): d for d in definitions}
    checked = []
    for key, raw in filters.items():
        definition = by_key.get(key)
        if definition is None:
            raise _refuse(N_("Unknown custom field %(key)s in the filters.", key=repr(key)), f"{PREFIX}{key}")
        given: Any = [raw] if definition.field_type == "multi_select" else raw
        checked.append((definition, load_value(definition, given, f"{PREFIX}{key}")))
    return checked


def filtered(query: Select, session: TenantSession, entity: str, filters: dict[str, str] | None) -> Select:
    return query.where(*filter_conditions(session, entity, filters))


UNSORTABLE_TYPES = frozenset({"long_text", "multi_select"})
"""Types a list cannot be sorted by: long text has no useful order, a multi select's array none at all."""


def sortable_names(definitions: list[CustomField]) -> list[str]:
    """The ``cf_<key>`` names of ``definitions`` (one record type's fields) a list may be sorted by."""
    return [f"{PREFIX}{key_of(d)}" for d in definitions if d.field_type not in UNSORTABLE_TYPES]


def sort_column(definitions: list[CustomField], name: str) -> ColumnElement:
    """The column of the custom field ``cf_<key>`` (among ``definitions``) to sort a list by, or
    :class:`ValidationError`."""
    key = name.removeprefix(PREFIX)
    definition = next((d for d in definitions if key_of(d) == key), None)
    if definition is None:
        raise _refuse(N_("Unknown custom field %(key)s in the sort.", key=repr(key)), "sort")
    if definition.field_type in UNSORTABLE_TYPES:
        kind = TYPES[definition.field_type].label
        raise _refuse(
            N_("%(label)s (%(type)s) cannot order a list.", label=definition.label, type=kind), "sort"
        )
    return _column(definition)


# Text input (CSV imports) ----------------------------------------------------------------------------------

MULTI_SELECT_SEPARATOR = ";"
"""Between the choices of a multi select in one CSV cell (commas are often the file's own delimiter)."""


def load_text_values(
    definitions: tuple[CustomField, ...], raw: dict[str, str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A new record's custom values from text cells by column name (``cf_<key>``): each checked by its type,
    defaults for the empty ones, required ones enforced. Returns (values by column, errors by column)."""
    return text_values_loader(definitions)(raw)


def text_values_loader(
    definitions: tuple[CustomField, ...],
) -> Callable[[dict[str, str]], tuple[dict[str, Any], dict[str, list[str]]]]:
    """``load_text_values`` for many rows of the same fields: each field's value check is built once."""
    # Each value check built when first needed (as load_value does), then kept for the following rows.
    checks = [
        (d.column_name, d.field_type, d.default_value, d.required, d.label, cache(partial(_value_field, d)))
        for d in definitions
    ]

    def load(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for column, field_type, default_value, required, label, value_field in checks:
            cell = (raw.get(column) or "").strip()
            given: Any = cell
            if cell and field_type == "multi_select":
                given = [part.strip() for part in cell.split(MULTI_SELECT_SEPARATOR) if part.strip()]
            elif not cell:
                given = default_value
            try:
                value = _load_with(value_field, label, given, column)
            except ValidationError as error:
                errors[column] = [error.detail]
                continue
            if value is None and required:
                errors[column] = [N_("%(label)s is required.", label=label)]
            values[column] = value
        return values, errors

    return load


def reference_errors(
    session: TenantSession, definitions: tuple[CustomField, ...], records: list[dict[str, Any]]
) -> list[dict[str, list[str]]]:
    """For each record (values by column name), its reference fields pointing to no record: one query per
    reference field for a whole batch."""
    found: list[dict[str, list[str]]] = [{} for _ in records]
    for definition in definitions:
        if definition.field_type != "reference":
            continue
        column = definition.column_name
        wanted = {record[column] for record in records if record.get(column) is not None}
        if not wanted:
            continue
        existing = set(
            session.scalars(
                text(f"SELECT id FROM {quote_identifier(definition.reference or '')} WHERE id = ANY(:ids)"),
                {"ids": list(wanted)},
            )
        )
        for errors, record in zip(found, records, strict=True):
            if record.get(column) is not None and record[column] not in existing:
                errors[column] = [_no_referenced_record(definition, record[column])]
    return found


def _no_referenced_record(definition: CustomField, value: Any) -> str:
    return N_(
        "%(label)s: no %(type)s record with id %(id)s.",
        label=definition.label,
        type=definition.reference,
        id=value,
    )


def pointing_at(session: TenantSession, table: str) -> list[CustomField]:
    """The live reference fields, of any record type, whose records point at records of ``table``."""
    fields_ = session.scalars(
        select(CustomField).where(
            CustomField.reference == table,
            CustomField.field_type == "reference",
            CustomField.deleted_at.is_(None),
        )
    )
    return [d for d in fields_ if is_column_name(d.column_name) and _exists(session, d.entity)]


def ids_pointing_at(
    session: TenantSession, definition: CustomField, record_id: uuid.UUID, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` ids of ``definition``'s records whose reference holds ``record_id`` (its index)."""
    table, column = quote_identifier(definition.entity), quote_identifier(definition.column_name)
    statement = text(f"SELECT id FROM {table} WHERE {column} = :record_id ORDER BY id LIMIT :n")
    return list(session.scalars(statement, {"record_id": record_id, "n": limit}))


def clear_references(session: Session, definition: CustomField, record_id: uuid.UUID) -> int:
    """Empty ``definition``'s reference wherever it points at ``record_id`` (an erased person); returns how
    many records pointed there."""
    table, column = quote_identifier(definition.entity), quote_identifier(definition.column_name)
    statement = text(f"UPDATE {table} SET {column} = NULL WHERE {column} = :record_id")
    return session.execute(statement, {"record_id": record_id}).rowcount


def personal_values(session: Session, entity: str, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """Each record's custom values by label, for a person's copy of their data: deleted fields too, since
    their values are held until a purge."""
    if not record_ids:
        return {}
    definitions = list(session.scalars(select(CustomField).where(CustomField.entity == entity)))
    stored = _stored_values(session, entity, definitions, record_ids)
    return {
        record_id: {d.label: to_json(d, value) for d, value in pairs if value is not None}
        for record_id, pairs in stored.items()
    }
