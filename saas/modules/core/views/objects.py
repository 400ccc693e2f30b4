"""Custom objects on pages: the admins' settings page ``/settings/objects``, and each object's list,
form, detail and timeline pages at ``/o/<key>`` — the shared record pages, built per request from the
object's definition (its name label, its fields), with the records that point at a record shown on its
page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup, escape
from marshmallow import fields, validate

from saas.i18n import N_
from saas.modules.core import custom_fields, objects, schemas
from saas.modules.core.models import CustomObject
from saas.modules.core.views.columns import TIMESTAMP_COLUMNS, ListColumn
from saas.modules.core.views.merge import run_admin_change
from saas.modules.core.views.records import (
    RECORD_PAGE_RULES,
    FormField,
    RecordPages,
    RecordWords,
    Timeline,
    member_choices,
    pages,
    workspace_people,
)
from saas.modules.registry import NavEntry, RecordType, registry
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role

OBJECT_ARGUMENT = "object_key"


class ObjectRecordForm(schemas.CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    owner_user_id = fields.UUID(allow_none=True)


ICON_NAMES = {
    "box": N_("box"), "car": N_("car"), "truck": N_("truck"), "building": N_("building"), "home": N_("home"),
    "briefcase": N_("briefcase"), "cart": N_("cart"), "package": N_("package"), "document": N_("document"),
    "calendar": N_("calendar"), "flag": N_("flag"), "key": N_("key"), "star": N_("star"), "tag": N_("tag"),
    "tool": N_("tool"), "user": N_("user"),
}  # fmt: skip
"""What the icon picker calls each of ``objects.ICONS``."""
assert set(ICON_NAMES) == set(objects.ICONS)


def _words(definition: CustomObject) -> RecordWords:
    """The record pages' phrases in the reader's language with the object's names as the workspace wrote
    them (as CRMs do: "New Vehicle"); built per request, so the template's own ``_()`` leaves them be."""
    names = {"singular": escape(definition.singular), "plural": escape(definition.plural)}

    def phrase(translated: str) -> Markup:
        # Jinja's _() marks what it returns safe: the catalog's phrase is ours, the names (data) are escaped.
        return Markup(translated) % names  # noqa: S704

    return RecordWords(
        names["singular"], names["plural"],
        phrase(gettext("New %(singular)s")), phrase(gettext("Edit %(singular)s")),
        phrase(gettext("Delete %(singular)s")), phrase(gettext("Delete this %(singular)s?")),
        phrase(gettext("Search %(plural)s")), phrase(gettext("No %(plural)s yet.")),
        phrase(gettext("No %(plural)s match “%%(query)s”.")), phrase(gettext("%(singular)s saved.")),
        phrase(gettext("%(singular)s deleted.")),
        phrase(gettext("Another %(singular)s looks like the same one")),
    )  # fmt: skip


def object_pages(definition: CustomObject) -> RecordPages:
    """The shared record pages of one object's records."""
    table = definition.table_name

    def on_timeline(record: Any) -> dict[str, Any]:
        return {"subject_type": table, "subject_id": record.id}

    return RecordPages(
        service=objects.ObjectRecordService(definition),
        schema_in=ObjectRecordForm,
        singular=definition.singular,
        plural="object_records",  # the endpoints' names: one set of rules serves every object
        fields=(
            FormField("name", definition.name_label, required=True),
            FormField(
                "owner_user_id",
                N_("Owner"),
                "select",
                choices=member_choices,
                show=lambda record: workspace_people().get(record.owner_user_id, ""),
            ),
        ),
        columns=(
            ListColumn(definition.name_label, lambda record: record.name, "name", sort="name"),
            *TIMESTAMP_COLUMNS,
        ),
        timeline=Timeline(entries=on_timeline, links=on_timeline),
        words=_words(definition),
    )


def _pages_of(object_key: str) -> RecordPages:
    return object_pages(objects.object_by_key(current_tenant_session(), object_key))


def _object_view(view: Callable[..., Any]) -> Callable[..., Any]:
    def serve(object_key: str, **arguments: Any) -> Any:
        return view(_pages_of(object_key), **arguments)

    serve.__name__ = f"object_{view.__name__}"
    return serve


for _path, _action, _view, _methods in RECORD_PAGE_RULES:
    pages.add_url_rule(
        f"/o/<{OBJECT_ARGUMENT}>{_path}", f"{_action}_object_records", _object_view(_view), methods=_methods
    )


@pages.url_defaults
def _keep_object_key(endpoint: str, values: dict[str, Any]) -> None:
    """Links between an object's pages (the shared templates name only the record) keep its key."""
    if endpoint.endswith("_object_records") and OBJECT_ARGUMENT not in values and request.view_args:
        key = request.view_args.get(OBJECT_ARGUMENT)
        if key is not None:
            values[OBJECT_ARGUMENT] = key


def workspace_nav(session: Any) -> list[NavEntry]:
    """Each live object's list in the workspace's navigation (core's ``workspace_nav``)."""
    return [
        NavEntry(escape(o.plural), "core.list_object_records", ((OBJECT_ARGUMENT, o.key),), group="records")
        for o in objects.live_objects(session)
    ]


# Records pointing at a record ------------------------------------------------------------------------------

RELATED_LIMIT = 20
"""Records shown per relation on a record's page; the list behind the link has the rest."""


def related_records(session: Any, record_type: RecordType, record: Any) -> dict[str, Any] | None:
    """The other side of every relation (reference field) that points at ``record``'s type: for each, the
    records pointing at this one. The panel of core's ``record_panels``."""
    groups = []
    for definition in custom_fields.pointing_at(session, record_type.table):
        source = registry.record_type(session, definition.entity)
        if source is None:
            continue
        ids = custom_fields.ids_pointing_at(session, definition, record.id, RELATED_LIMIT + 1)
        names = objects.record_names(session, source.table, ids[:RELATED_LIMIT])
        groups.append(
            {
                "title": f"{gettext(source.plural)} ({definition.label})",
                "type": source,
                "records": [
                    (record_id, names.get(record_id, str(record_id))) for record_id in ids[:RELATED_LIMIT]
                ],
                "more": len(ids) > RELATED_LIMIT,
                "list_arguments": _list_arguments(source, definition, record.id),
            }
        )
    return {"groups": groups} if groups else None


REFERENCE_CHOICES = 200
"""Records a relation's select offers (by name); more are typed in by id in the API or an import."""


@pages.app_template_global()
def reference_choices(table: str) -> list[tuple[uuid.UUID, str]]:
    """The records a relation (reference field) to ``table`` may point at, as a form's choices."""
    session = current_tenant_session()
    record_type = registry.record_type(session, table)
    if record_type is None or record_type.service is None:
        return []
    page = record_type.service().list(session, limit=REFERENCE_CHOICES)
    names = objects.record_names(session, table, [record.id for record in page.data])
    return [(record.id, names.get(record.id, str(record.id))) for record in page.data]


def reference_link(table: str, record_id: uuid.UUID) -> Markup | str:
    """A reference's value on a detail page: the record's name linking to it (its id if unnamed)."""
    session = current_tenant_session()
    record_type = registry.record_type(session, table)
    name = objects.record_names(session, table, [record_id]).get(record_id)
    if record_type is None or name is None:
        return str(record_id)
    url = url_for(record_type.endpoint, **record_type.detail_arguments(record_id))
    return Markup('<a href="{}">{}</a>').format(url, name)


def _list_arguments(record_type: RecordType, definition: Any, record_id: uuid.UUID) -> dict[str, Any] | None:
    """``url_for`` arguments of the source's list filtered to this record (``cf_<key>=<id>``), where its
    list is a shared record list (``show_<plural>`` beside ``list_<plural>``)."""
    list_endpoint = record_type.endpoint.replace(".show_", ".list_", 1)
    if list_endpoint == record_type.endpoint or list_endpoint not in current_app.view_functions:
        return None
    return {
        "endpoint": list_endpoint,
        **dict(record_type.endpoint_args),
        definition.column_name: str(record_id),
    }


# The settings page -----------------------------------------------------------------------------------------


def _page(message: str | None = None, errors: dict | None = None, values: dict | None = None, status=200):
    session = current_tenant_session()
    return render_template(
        "core/objects.html", live=objects.list_objects(session),
        deleted=objects.list_objects(session, deleted=True), icons=ICON_NAMES,
        message=message, errors=errors or {}, values=values or {},
    ), status  # fmt: skip


def _change(action: Callable[[], str]):
    def rerender(error):
        return _page(error.detail, getattr(error, "errors", {}), request.form.to_dict(), error.status)

    return run_admin_change(action, rerender, "core.object_settings")


_DEFINITION_FIELDS = ("key", "singular", "plural", "name_label", "icon", "description")


@pages.get("/settings/objects")
def object_settings():
    require_role(*ADMIN_ROLES)
    return _page()


@pages.post("/settings/objects")
def define_object():
    data = {name: request.form.get(name, "") for name in _DEFINITION_FIELDS}

    def define() -> str:
        definition = objects.define_object(current_tenant_session(), data)
        return gettext("%(name)s defined: add its fields below.", name=definition.plural)

    return _change(define)


@pages.post("/settings/objects/<uuid:custom_object_id>")
def change_object(custom_object_id: uuid.UUID):
    changes = {name: request.form[name] for name in _DEFINITION_FIELDS[1:] if name in request.form}

    def change() -> str:
        definition = objects.update_object(current_tenant_session(), custom_object_id, changes)
        return gettext("%(name)s saved.", name=definition.plural)

    return _change(change)


@pages.post("/settings/objects/<uuid:custom_object_id>/delete")
def delete_object(custom_object_id: uuid.UUID):
    def delete() -> str:
        definition = objects.delete_object(current_tenant_session(), custom_object_id)
        return gettext("%(name)s deleted; the records stay until you purge them.", name=definition.plural)

    return _change(delete)


@pages.post("/settings/objects/<uuid:custom_object_id>/restore")
def restore_object(custom_object_id: uuid.UUID):
    def restore() -> str:
        return gettext(
            "%(name)s restored.",
            name=objects.restore_object(current_tenant_session(), custom_object_id).plural,
        )

    return _change(restore)


@pages.post("/settings/objects/<uuid:custom_object_id>/purge")
def purge_object(custom_object_id: uuid.UUID):
    def purge() -> str:
        session = current_tenant_session()
        name = objects.get_object(session, custom_object_id).plural
        objects.purge_object(session, custom_object_id)
        return gettext("%(name)s and all their records purged.", name=name)

    return _change(purge)
