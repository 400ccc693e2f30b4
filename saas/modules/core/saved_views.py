"""Saved views: a named list query of one record type, kept per member or shared with the workspace.

A view stores only the parameters its list accepts (``q``, the list's own filters such as a lead's
``status``, ``cf_<key>`` custom field filters and a ``sort``), checked when it is saved, so re-opening it can
only fail if a custom field it names was deleted since; and the list page's visible columns. Paging
(``cursor``, ``limit``) is not part of a view.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import marshmallow
from sqlalchemy import or_, select

from saas.db import TenantSession, db
from saas.errors import NotFound, PermissionDenied, ValidationError
from saas.i18n import N_
from saas.modules.core import custom_fields, objects
from saas.modules.core.models import CustomField, SavedView
from saas.modules.core.schemas import ListQuery
from saas.modules.core.services import RecordService
from saas.modules.registry import RecordType, registry
from saas.modules.switches import ModuleDisabled, enabled_module_keys

PAGING = frozenset({"cursor", "limit", "custom"})
MAX_PARAMETERS = 30
MAX_VALUE = 200


def _declared(entity: str) -> RecordType | None:
    """The record type a module declares for ``entity``; a custom object's is read from the workspace."""
    return next((t for m in registry for t in m.record_types if t.table == entity), None)


def is_view_entity(entity: Any) -> bool:
    """Whether views may be kept of ``entity``: a built-in record type, or a custom object's table (whether
    the workspace has it is checked where a session is at hand)."""
    return isinstance(entity, str) and (_declared(entity) is not None or objects.is_object_table(entity))


def list_query_and_service(entity: str) -> tuple[marshmallow.Schema, RecordService]:
    """The API list query of ``entity`` (the parameters its list, API and page, accepts) and its service."""
    declared = _declared(entity)
    if declared is not None and declared.list_query is not None and declared.service is not None:
        return declared.list_query(), declared.service()
    # A custom object's records: the generic list query; sorting by name and time stamps, as any object.
    return ListQuery(), RecordService(objects.record_model(entity), "record", search=())


_COLUMNS: dict[str, tuple[str, ...]] = {}


def register_columns(entity: str, keys: tuple[str, ...]) -> None:
    """The columns a record type's list page can show (its pages register them), besides custom fields."""
    _COLUMNS[entity] = keys


def _custom_fields_of(session: TenantSession, entity: str) -> list[CustomField]:
    return custom_fields.list_fields(session, entity) if custom_fields.takes_fields(entity) else []


def clean_columns(session: TenantSession, entity: str, columns: Any) -> list[str]:
    """``columns`` as a view keeps them (an empty list: the list's own), or :class:`ValidationError`."""
    return columns_among(entity, columns, _custom_fields_of(session, entity))


def columns_among(entity: str, columns: Any, definitions: list[CustomField]) -> list[str]:
    """:func:`clean_columns` with the record type's custom field definitions given."""
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValidationError("Columns are a list of column names.", {"columns": ["Give a list of names."]})
    columns = list(dict.fromkeys(c.strip() for c in columns if c.strip()))
    if not columns:
        return []
    own = _COLUMNS.get(entity) or (objects.LIST_COLUMNS if objects.is_object_table(entity) else None)
    if own is None:
        message = N_("The %(entity)s list shows fixed columns.", entity=entity)
        raise ValidationError(message, {"columns": [message]})
    known = [*own, *(f"{custom_fields.PREFIX}{custom_fields.key_of(d)}" for d in definitions)]
    unknown = [c for c in columns if c not in known]
    if unknown or len(columns) > MAX_PARAMETERS:
        message = N_(
            "The %(entity)s list has the columns %(columns)s.", entity=entity, columns=", ".join(known)
        )
        detail = (
            N_("Unknown columns: %(columns)s.", columns=", ".join(unknown))
            if unknown
            else N_("At most %(count)s.", count=MAX_PARAMETERS)
        )
        raise ValidationError(detail, {"columns": [message]})
    return columns


def entities_on(session: TenantSession) -> tuple[str, ...]:
    """The record types of the modules on for the session's tenant (its custom objects included)."""
    keys = enabled_module_keys(db.session, session.tenant.id)
    return tuple(record_type.table for record_type in registry.record_types(session, keys))


def clean_query(session: TenantSession, entity: str, query: Any) -> dict[str, str]:
    """``query`` as a view keeps it, or :class:`ValidationError` naming each refused parameter."""
    return query_among(entity, query, _custom_fields_of(session, entity))


def query_among(entity: str, query: Any, definitions: list[CustomField]) -> dict[str, str]:
    """:func:`clean_query` with the record type's custom field definitions given."""
    if not is_view_entity(entity):
        raise ValidationError(
            N_(
                "Views can be saved on %(types)s and custom objects.",
                types=", ".join(custom_fields.entities()),
            ),
            {"entity": ["Unknown record type."]},
        )
    if not isinstance(query, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in query.items()
    ):
        message = "The query must map parameter names to text."
        raise ValidationError(message, {"query": [message]})
    # Empty values mean "any" on the list pages: they are not kept.
    query = {name: value.strip() for name, value in query.items() if value.strip() != ""}
    if len(query) > MAX_PARAMETERS:
        raise ValidationError(
            "Too many parameters.", {"query": [N_("At most %(count)s.", count=MAX_PARAMETERS)]}
        )
    schema, service = list_query_and_service(entity)
    accepted = set(schema.fields) - PAGING
    errors: dict[str, list[str]] = {}
    for name, value in query.items():
        if not name.startswith(custom_fields.PREFIX) and name not in accepted:
            errors[name] = [
                N_("The %(entity)s list has no parameter %(name)s.", entity=entity, name=repr(name))
            ]
        elif len(value) > MAX_VALUE:
            errors[name] = [N_("At most %(count)s characters.", count=MAX_VALUE)]
    if errors:
        raise ValidationError("The view holds parameters its list does not accept.", errors)
    plain = {name: value for name, value in query.items() if not name.startswith(custom_fields.PREFIX)}
    try:
        schema.load(plain)
    except marshmallow.ValidationError as error:
        raise ValidationError("The view's filters are not valid.", error.normalized_messages()) from error
    custom = {
        name.removeprefix(custom_fields.PREFIX): value
        for name, value in query.items()
        if name.startswith(custom_fields.PREFIX)
    }
    # Raises for an unknown custom field or a value its type cannot hold, or an unknown sort.
    custom_fields.checked_filters(definitions, custom)
    if "sort" in query:
        service.order_among(definitions, query["sort"])
    return dict(sorted(query.items()))


def check_stored(entity: str, query: Any, columns: Any, definitions: list[CustomField]) -> None:
    """Refuse a stored view (an archive's) that :func:`create` would not have kept as it is."""
    kept = query_among(entity, query, definitions), columns_among(entity, columns, definitions)
    if kept != (query, columns):
        message = "The view is not as a saved view is kept (parameters trimmed and sorted, no duplicates)."
        raise ValidationError(message, {"query": [message]})


def create(session: TenantSession, user_id: uuid.UUID, data: dict[str, Any]) -> SavedView:
    """Save a view for ``user_id``; ``data`` has entity, name, query and optionally shared."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        message = "Give the view a name (up to 100 characters)."
        raise ValidationError(message, {"name": [message]})
    entity = data.get("entity")
    query = clean_query(session, entity, data.get("query") or {})
    if entity not in entities_on(session):
        raise ModuleDisabled(N_("The module of %(entity)s is switched off in this workspace.", entity=entity))
    columns = clean_columns(session, entity, data.get("columns") or [])
    view = SavedView(
        entity=entity, name=name, query=query, columns=columns, owner_user_id=user_id,
        shared=bool(data.get("shared")),
    )  # fmt: skip
    session.add(view)
    session.flush()
    return view


def _visible(user_id: uuid.UUID):
    return or_(SavedView.owner_user_id == user_id, SavedView.shared.is_(True))


def visible(session: TenantSession, user_id: uuid.UUID, entity: str | None = None) -> list[SavedView]:
    """The member's own views and the workspace's shared ones, by name."""
    query = select(SavedView).where(_visible(user_id), SavedView.entity.in_(entities_on(session)))
    if entity is not None:
        query = query.where(SavedView.entity == entity)
    return list(session.scalars(query.order_by(SavedView.entity, SavedView.name, SavedView.id)))


def get(session: TenantSession, user_id: uuid.UUID, view_id: uuid.UUID) -> SavedView:
    """A view the member may see; another member's private view is as absent as a missing one."""
    view = session.scalar(
        select(SavedView).where(
            SavedView.id == view_id, _visible(user_id), SavedView.entity.in_(entities_on(session))
        )
    )
    if view is None:
        raise NotFound("No such saved view.")
    return view


def delete(session: TenantSession, user_id: uuid.UUID, view_id: uuid.UUID, *, is_admin: bool) -> SavedView:
    """Delete a view: its owner may, and owners/admins may delete shared views too."""
    view = get(session, user_id, view_id)
    if view.owner_user_id != user_id and not is_admin:
        raise PermissionDenied("Only the view's owner or a workspace admin may delete it.")
    session.delete(view)
    session.flush()
    return view


def query_string(view: SavedView) -> str:
    """The view's query as the API list's query string."""
    return urlencode(view.query)


def page_arguments(view: SavedView) -> dict[str, str]:
    """The list page's URL arguments of the view: its query, and its columns when it chose them."""
    return {**view.query, **({"columns": ",".join(view.columns)} if view.columns else {})}
