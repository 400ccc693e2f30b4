"""Custom objects: kinds of records a workspace defines itself (a Vehicle, a Property, a Subscription).

Each object's records live in a real table ``co_<key>`` of the tenant's own schema, created by DDL as the
tenant's role inside the request's transaction, like custom fields' columns. Every table has the same
built-in columns (id, the name that is the primary display field, the generated sort and search columns,
time stamps), so one mapped class per table name serves every workspace; everything else is custom
fields (``cf_<key>`` columns) and relations are reference fields, to any record type. The records go
through the same :class:`RecordService` as contacts: lists, search, sort, filters, pages, API, webhooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Computed,
    Connection,
    DateTime,
    Index,
    MetaData,
    String,
    Uuid,
    and_,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column

from saas.db import NAMING_CONVENTION, TENANT_SCHEMA_PLACEHOLDER, TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Activity, CustomField, CustomObject, SavedView, search_vector_column
from saas.modules.core.services import RecordService
from saas.modules.core.workspace_settings import audit_admin_change
from saas.modules.registry import RecordType, registry
from saas.sql import quote_identifier

TABLE_PREFIX = "co_"
_KEY = re.compile(r"^[a-z][a-z_]{0,29}$")
"""Letters and ``_``: the key names the table (``co_vehicle``) and webhook events (``co_vehicle.created``)."""
_TABLE = re.compile(r"^co_[a-z][a-z_]{0,29}$")
ICONS = (
    "box", "car", "truck", "building", "home", "briefcase", "cart", "package", "document", "calendar",
    "flag", "key", "star", "tag", "tool", "user",
)  # fmt: skip
"""The icons an object may take (CSS classes of the page's icon set; no uploaded images)."""
_CACHE = "custom_objects"
SORTABLE = {"name": "sort_name", "created_at": "created_at", "updated_at": "updated_at"}
LIST_COLUMNS = ("name", "created_at", "updated_at")
"""The keys of an object list page's own columns (views/objects.py), which saved views may choose."""
"""What an object's list may be sorted by, besides its custom fields."""


class ObjectRecordBase(DeclarativeBase):
    """Base of the mapped classes of custom objects' tables: a metadata of its own, so migrations,
    exports and checks that walk the built-in tables do not meet a workspace's tables."""

    metadata = MetaData(schema=TENANT_SCHEMA_PLACEHOLDER, naming_convention=NAMING_CONVENTION)


def is_object_table(name: str) -> bool:
    """Whether ``name`` has the shape of a custom object's table (``co_<key>``), defined or not."""
    return bool(_TABLE.match(name or ""))


@cache
def record_model(table: str) -> type:
    """The mapped class of the records in ``table`` (the same built-in columns in every workspace)."""
    if not is_object_table(table):
        raise ValueError(f"not a custom object's table: {table!r}")
    columns: dict[str, Any] = {
        "__tablename__": table,
        "__table_args__": (
            # Lists page through (sort_name, id), like contacts: a page costs the same at any depth.
            Index(f"ix_{table}_sort", "sort_name", "id"),
            Index(f"ix_{table}_created_at_id", "created_at", "id"),  # newest first, as contacts
            Index(f"ix_{table}_search", "search_vector", postgresql_using="gin"),
        ),
        "id": mapped_column(Uuid, primary_key=True, default=uuid.uuid4),
        "name": mapped_column(String(255), nullable=False),
        "sort_name": mapped_column(String(255), Computed("lower(name)", persisted=True)),
        "search_vector": search_vector_column("name"),
        "owner_user_id": mapped_column(Uuid, nullable=True),
        "created_at": mapped_column(DateTime(timezone=True), server_default=func.now()),
        "updated_at": mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now()),
    }
    class_name = "".join(part.capitalize() for part in table.split("_")) + "Record"
    return type(class_name, (ObjectRecordBase,), columns)


class ObjectRecordService(RecordService):
    """The records of one custom object; changes announce ``co_<key>.created|updated|deleted``."""

    def __init__(self, definition: CustomObject) -> None:
        model: Any = record_model(definition.table_name)
        super().__init__(
            model,
            definition.singular.lower(),
            search=(model.name,),
            announce=True,
            sortable={name: getattr(model, column) for name, column in SORTABLE.items()},
        )
        self.definition = definition

    def emit(
        self,
        session: TenantSession,
        verb: str,
        record: Any,
        changes: dict[str, tuple[Any, Any]] | None = None,
    ) -> None:
        from saas.webhooks.events import emit, record_payload

        emit(session, f"{self.definition.table_name}.{verb}", record_payload(record), changes)

    def check(self, session: TenantSession, record: Any) -> None:
        name = (record.name or "").strip()
        if not name:
            label = self.definition.name_label
            raise ValidationError(
                N_("%(label)s is required.", label=label),
                {"name": [N_("Enter the %(label)s.", label=label.lower())]},
            )
        record.name = name


# Definitions ------------------------------------------------------------------------------------------------


def live_objects(session: TenantSession) -> list[CustomObject]:
    """The workspace's objects that are not deleted, by plural name; read once per unit of work, with their
    live custom fields in the same query (a request on an object's records then reads its definition and
    fields in one round trip, as a contact's request reads its fields)."""
    if _CACHE not in session.info:
        # Rows, not mapped entities: loading them through the ORM's identity map cost 4x the query itself
        # (0.8 ms against 0.2 ms), on every request of an object's records. The instances built from the
        # rows are for reading; every change goes through get_object / get_field.
        objects_, fields = CustomObject.__table__, CustomField.__table__
        joined = objects_.outerjoin(
            fields, and_(fields.c.entity == TABLE_PREFIX + objects_.c.key, fields.c.deleted_at.is_(None))
        )
        rows = session.execute(
            select(objects_, fields)
            .select_from(joined)
            .where(objects_.c.deleted_at.is_(None))
            .order_by(objects_.c.plural, objects_.c.id, fields.c.position, fields.c.label)
        ).all()
        found: dict[uuid.UUID, CustomObject] = {}
        fields_of: dict[str, list[CustomField]] = {}
        width = len(objects_.c)
        for row in rows:
            values = tuple(row)
            object_id = values[0]
            if object_id not in found:
                found[object_id] = CustomObject(**dict(zip(objects_.c.keys(), values[:width], strict=True)))
            table_fields = fields_of.setdefault(found[object_id].table_name, [])
            field_values = dict(zip(fields.c.keys(), values[width:], strict=True))
            if field_values["id"] is not None:
                table_fields.append(CustomField(**field_values))
        session.info[_CACHE] = list(found.values())
        session.info.setdefault(FIELDS_CACHE, {}).update(fields_of)
    return session.info[_CACHE]


FIELDS_CACHE = "custom_field_definitions"
"""Live custom fields by record type, read for this unit of work (``custom_fields.list_fields`` uses
them; every change of a field or an object forgets them)."""


def _forget(session: TenantSession) -> None:
    session.info.pop(_CACHE, None)
    session.info.pop(FIELDS_CACHE, None)


def list_objects(session: TenantSession, *, deleted: bool = False) -> list[CustomObject]:
    """Defined objects; ``deleted`` lists the ones awaiting a purge instead."""
    if not deleted:
        return live_objects(session)
    return list(
        session.scalars(
            select(CustomObject).where(CustomObject.deleted_at.is_not(None)).order_by(CustomObject.plural)
        )
    )


def get_object(session: TenantSession, object_id: uuid.UUID) -> CustomObject:
    definition = session.get(CustomObject, object_id)
    if definition is None:
        raise NotFound(N_("No custom object with id %(id)s.", id=object_id))
    return definition


def object_by_key(session: TenantSession, key: str) -> CustomObject:
    """A live object by its key (URLs and the API name objects by key), or :class:`NotFound`."""
    found = next((o for o in live_objects(session) if o.key == key), None)
    if found is None:
        raise NotFound(N_("This workspace has no custom object %(key)s.", key=repr(key)))
    return found


def object_for_table(session: TenantSession, table: str) -> CustomObject | None:
    return next((o for o in live_objects(session) if o.table_name == table), None)


def service_for(session: TenantSession, key: str) -> ObjectRecordService:
    """The record service of a live object, by key."""
    return ObjectRecordService(object_by_key(session, key))


def record_types(session: TenantSession) -> list[RecordType]:
    """The workspace's objects as record types (the registry's ``workspace_record_types`` of core)."""
    return [record_type_of(definition) for definition in live_objects(session)]


def record_type_of(definition: CustomObject) -> RecordType:
    return RecordType(
        definition.table_name,
        definition.singular,
        definition.plural,
        "core.show_object_records",
        endpoint_args=(("object_key", definition.key),),
        service=lambda: ObjectRecordService(definition),
        list_query=_list_query,
    )


def _list_query() -> Any:
    from saas.modules.core.schemas import ListQuery

    return ListQuery()


def _refuse(message: str, field: str) -> ValidationError:
    return ValidationError(message, {field: [message]})


GIVE_THE_OBJECT = {
    "singular": N_("Give the object a singular name."),
    "plural": N_("Give the object a plural name."),
    "name_label": N_("Give the object a label for its name field."),
}
"""What a missing required text of an object's definition is refused with, a whole sentence each."""


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str | None:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise _refuse(GIVE_THE_OBJECT[name], name)
    if len(value) > limit:
        raise _refuse(N_("At most %(count)s characters.", count=limit), name)
    if "%" in value:  # the pages' phrases are format strings ("No vehicles match “%(query)s”.")
        raise _refuse("Names cannot hold %.", name)
    return value or None


def check_object(data: dict[str, Any]) -> CustomObject:
    """A new object's definition (not yet stored) from ``data``, or :class:`ValidationError`: the rules of
    every definition, typed into a page or the API, or brought by an archive."""
    key = str(data.get("key") or "").strip().lower()
    if not _KEY.match(key):
        raise _refuse("A key is 1 to 30 lowercase letters or _, starting with a letter.", "key")
    definition = CustomObject(key=key)
    _apply(definition, {"icon": "box", "name_label": "Name", **data})
    return definition


def _apply(definition: CustomObject, data: dict[str, Any]) -> None:
    if "singular" in data or definition.singular is None:
        definition.singular = _text(data, "singular", 60)
    if "plural" in data or definition.plural is None:
        definition.plural = _text(data, "plural", 60)
    if "name_label" in data:
        definition.name_label = _text(data, "name_label", 100)
    if "description" in data:
        definition.description = _text(data, "description", 300, required=False)
    if "icon" in data:
        icon = str(data.get("icon") or "box")
        if icon not in ICONS:
            raise _refuse(N_("Choose one of the icons: %(icons)s.", icons=", ".join(ICONS)), "icon")
        definition.icon = icon


def _audit(session: TenantSession, action: str, definition: CustomObject, **details: Any) -> None:
    target, facts = f"custom_object:{definition.id}", {"table": definition.table_name, **details}
    audit_admin_change(session, f"core.custom_object.{action}", target, facts)


def define_object(session: TenantSession, data: dict[str, Any]) -> CustomObject:
    """Add an object: its definition and its table with indexes, in the caller's transaction."""
    definition = check_object(data)
    taken = session.scalar(select(CustomObject).where(CustomObject.key == definition.key))
    if taken is not None:
        key = repr(definition.key)
        message = (
            N_("%(key)s is taken by a deleted object: purge it first.", key=key)
            if taken.deleted_at
            else N_("%(key)s is taken.", key=key)
        )
        raise _refuse(message, "key")
    session.add(definition)
    session.flush()
    create_table(session.connection(), definition.table_name)
    _forget(session)
    _audit(session, "defined", definition)
    return definition


def create_table(connection: Connection, table: str) -> None:
    """The records' table with its indexes, as the tenant's role (an archive's import uses it too: its
    connection chooses the schema by search path rather than by the tenant sessions' schema map)."""
    if TENANT_SCHEMA_PLACEHOLDER not in (
        connection.get_execution_options().get("schema_translate_map") or {}
    ):
        connection = connection.execution_options(schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: None})
    record_model(table).__table__.create(connection)


def recreate_tables(connection: Connection, tables: Iterable[str]) -> None:
    """An archive's object tables not in the schema yet, before its custom field columns and rows."""
    present = set(
        connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
    )
    for table in tables:
        if is_object_table(table) and table not in present:
            create_table(connection, table)


def tables_in_schema(connection: Connection) -> list[str]:
    """The object tables the bound schema holds (a deleted object's too, until its purge), by name."""
    rows = connection.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'co\\_%' ORDER BY tablename"
        )
    )
    return [name for name in rows.scalars() if is_object_table(name)]


def update_object(session: TenantSession, object_id: uuid.UUID, changes: dict[str, Any]) -> CustomObject:
    """Rename, re-describe or re-icon an object; its key (and table) never change."""
    definition = get_object(session, object_id)
    unknown = set(changes) - {"singular", "plural", "name_label", "description", "icon"}
    if unknown:
        raise _refuse(
            N_("These cannot be changed: %(names)s.", names=", ".join(sorted(unknown))), sorted(unknown)[0]
        )
    _apply(definition, changes)
    session.flush()
    _forget(session)
    _audit(session, "updated", definition, changed=sorted(changes))
    return definition


def delete_object(session: TenantSession, object_id: uuid.UUID) -> CustomObject:
    """Hide the object: its pages, API and list go; its table and records stay until :func:`purge_object`."""
    definition = get_object(session, object_id)
    if definition.deleted_at is None:
        definition.deleted_at = datetime.now(UTC)
        _forget(session)
        _audit(session, "deleted", definition)
    return definition


def restore_object(session: TenantSession, object_id: uuid.UUID) -> CustomObject:
    definition = get_object(session, object_id)
    if definition.deleted_at is not None:
        definition.deleted_at = None
        _forget(session)
        _audit(session, "restored", definition)
    return definition


def purge_object(session: TenantSession, object_id: uuid.UUID) -> None:
    """Drop a deleted object's table and every record in it, its fields, views and timeline entries: the
    one irreversible step. Refused while another record type's live field still points at it."""
    definition = get_object(session, object_id)
    if definition.deleted_at is None:
        raise Conflict("Only a deleted object can be purged: delete it first.")
    table = definition.table_name
    pointing = session.scalars(
        select(CustomField).where(
            CustomField.reference == table, CustomField.entity != table, CustomField.deleted_at.is_(None)
        )
    ).all()
    if pointing:
        names = ", ".join(f"{field.label} ({field.entity})" for field in pointing)
        raise Conflict(
            N_(
                "These fields still point at %(plural)s: %(fields)s. Delete them first.",
                plural=definition.plural,
                fields=names,
            )
        )
    session.execute(text(f"DROP TABLE IF EXISTS {quote_identifier(table)}"))
    session.execute(delete(CustomField).where(CustomField.entity == table))
    session.execute(delete(SavedView).where(SavedView.entity == table))
    session.execute(delete(Activity).where(Activity.subject_type == table))
    _audit(session, "purged", definition)
    session.delete(definition)
    session.flush()
    _forget(session)


def record_names(session: TenantSession, table: str, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names people read for records of ``table`` by id: an object record's name, or the name a
    module gives its records (``registry.record_labels``)."""
    if not ids:
        return {}
    if is_object_table(table):
        model: Any = record_model(table)
        return dict(session.execute(select(model.id, model.name).where(model.id.in_(ids))).tuples().all())
    return registry.record_labels(session, table, ids)


def names_records(table: str | None) -> bool:
    """Whether :func:`record_names` can name the records of ``table``."""
    return bool(table) and (is_object_table(table) or registry.labels_records(table))
