"""Custom fields on pages: the admins' settings page ``/settings/custom-fields``, and the helpers that put
custom fields on every record type's form, detail page and list filters.

The helpers take the record type as its :class:`RecordPages` or, for pages of their own (tickets), as its
table's name."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from saas.modules.core import custom_fields, pickers
from saas.modules.core.blueprints import pages
from saas.modules.core.models import CustomField
from saas.modules.core.views.merge import run_admin_change
from saas.modules.registry import registry
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role

INPUT_KINDS = {
    "text": "text", "long_text": "textarea", "number": "number", "currency": "number", "date": "date",
    "boolean": "boolean", "single_select": "select", "multi_select": "multiple", "url": "url",
    "email": "email", "phone": "tel", "reference": "reference",
}  # fmt: skip


def _entity(pages_of: Any) -> str:
    return pages_of if isinstance(pages_of, str) else pages_of.service.model.__tablename__


def split_custom_form(pages_of: Any, data: dict[str, Any], form: MultiDict) -> tuple[dict, dict]:
    """The record's own form values, and its custom fields' (by key, a multi select as a list)."""
    definitions = {
        custom_fields.key_of(d): d
        for d in custom_fields.list_fields(current_tenant_session(), _entity(pages_of))
    }
    custom: dict[str, Any] = {}
    for key, definition in definitions.items():
        name = f"{custom_fields.PREFIX}{key}"
        if definition.field_type == "multi_select":
            custom[key] = form.getlist(name)
        elif definition.field_type == "boolean":
            custom[key] = {"yes": True, "no": False}.get(form.get(name, ""))
        elif name in form:
            custom[key] = form.get(name)
            typed = form.get(f"{name}{pickers.PICKED_SUFFIX}")
            if definition.field_type == "reference" and typed is not None:  # a relation picker's text
                session = current_tenant_session()
                custom[key] = pickers.resolve_leniently(session, definition.reference, typed, custom[key])
    plain = {name: value for name, value in data.items() if not name.startswith(custom_fields.PREFIX)}
    return plain, custom


def save_custom_values(
    pages_of: Any, record_id: uuid.UUID, custom: dict[str, Any], *, creating: bool
) -> None:
    custom_fields.write_values(
        current_tenant_session(), _entity(pages_of), record_id, custom, creating=creating
    )


def form_values(pages_of: Any, record_id: uuid.UUID) -> dict[str, Any]:
    """A record's stored custom values as its edit form's inputs expect them."""
    stored = custom_fields.read_values(current_tenant_session(), _entity(pages_of), [record_id]).get(
        record_id, {}
    )
    return {f"{custom_fields.PREFIX}{key}": value for key, value in stored.items()}


def default_form_values(pages_of: Any) -> dict[str, Any]:
    """The fields' defaults as a new record's form inputs expect them (so that the form shows them)."""
    return {
        f"{custom_fields.PREFIX}{custom_fields.key_of(d)}": d.default_value
        for d in custom_fields.list_fields(current_tenant_session(), _entity(pages_of))
        if d.default_value is not None
    }


def list_conditions(pages_of: Any) -> list:
    """A list page's ``cf_<key>=<value>`` filters (empty inputs mean "any")."""
    filters = {
        name.removeprefix(custom_fields.PREFIX): value
        for name, value in request.args.items()
        if name.startswith(custom_fields.PREFIX) and value != ""
    }
    return custom_fields.filter_conditions(current_tenant_session(), _entity(pages_of), filters)


def _custom_inputs(pages_of: Any) -> list[tuple[CustomField, str, str]]:
    """The record type's custom fields with their input name and kind, for its form."""
    return [
        (d, f"{custom_fields.PREFIX}{custom_fields.key_of(d)}", INPUT_KINDS[d.field_type])
        for d in custom_fields.list_fields(current_tenant_session(), _entity(pages_of))
    ]


def _custom_values(pages_of: Any, record: Any) -> list[tuple[str, Any]]:
    """(label, shown value) of the record's custom fields, for its detail page."""
    session = current_tenant_session()
    definitions = custom_fields.list_fields(session, _entity(pages_of))
    stored = custom_fields.read_values(session, _entity(pages_of), [record.id]).get(record.id, {})
    shown = []
    for definition in definitions:
        value = stored.get(custom_fields.key_of(definition))
        if definition.field_type == "reference" and value:
            from saas.modules.core.views.objects import reference_link  # it builds on this module

            value = reference_link(definition.reference or "", uuid.UUID(value))
        elif isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, bool):
            value = "Yes" if value else "No"
        shown.append((definition.label, value))
    return shown


def install_custom_field_pages(blueprint: Blueprint) -> None:
    """Every record page may show and edit custom fields (templates call these)."""
    blueprint.app_context_processor(
        lambda: {"custom_field_inputs": _custom_inputs, "custom_field_values": _custom_values}
    )


# The settings page --------------------------------------------------------------------------------------


def _page(
    message: str | None = None, errors: dict | None = None, values: dict | None = None, status: int = 200
):
    session = current_tenant_session()
    # Every record type that takes fields, a custom object's included, by its table: its name on the page.
    names = {t.table: gettext(t.plural) for t in registry.record_types(session)}
    return render_template(
        "core/custom_fields.html", fields=custom_fields.list_fields(session),
        deleted=custom_fields.list_fields(session, deleted=True), entities=list(names), entity_names=names,
        types=custom_fields.TYPES, message=message, errors=errors or {}, values=values or {},
    ), status  # fmt: skip


def _change(action: Callable[[], str], values: dict | None = None):
    def rerender(error):
        return _page(error.detail, getattr(error, "errors", {}), values, error.status)

    return run_admin_change(action, rerender, "core.custom_field_settings")


@pages.get("/settings/custom-fields")
def custom_field_settings():
    require_role(*ADMIN_ROLES)
    return _page()


def _definition_form() -> dict[str, Any]:
    form = request.form
    options = [line.strip() for line in form.get("options", "").splitlines() if line.strip()]
    return {
        "key": form.get("key", ""), "label": form.get("label", ""), "field_type": form.get("field_type", ""),
        "required": form.get("required") == "1", "help_text": form.get("help_text", ""),
        "default_value": form.get("default_value") or None, "options": options,
        "reference": form.get("reference") or None,
    }  # fmt: skip


@pages.post("/settings/custom-fields")
def add_custom_field():
    data = _definition_form()
    entity = request.form.get("entity", "")

    def add() -> str:
        definition = custom_fields.define_field(current_tenant_session(), entity, data)
        return gettext("Field %(field)s added.", field=definition.label)

    return _change(add, {**request.form.to_dict(), "entity": entity})


@pages.post("/settings/custom-fields/<uuid:custom_field_id>")
def change_custom_field(custom_field_id: uuid.UUID):
    changes: dict[str, Any] = {
        name: request.form[name] for name in ("label", "help_text", "field_type") if name in request.form
    }
    if "options" in request.form:
        changes["options"] = [line.strip() for line in request.form["options"].splitlines() if line.strip()]
    if "required" in request.form:
        changes["required"] = request.form["required"] == "1"

    def change() -> str:
        definition = custom_fields.update_field(current_tenant_session(), custom_field_id, changes)
        return gettext("Field %(field)s saved.", field=definition.label)

    return _change(change)


@pages.post("/settings/custom-fields/<uuid:custom_field_id>/delete")
def delete_custom_field(custom_field_id: uuid.UUID):
    return _change(
        lambda: gettext(
            "Field %(field)s deleted; its data stays until you purge it.",
            field=custom_fields.delete_field(current_tenant_session(), custom_field_id).label,
        )
    )


@pages.post("/settings/custom-fields/<uuid:custom_field_id>/restore")
def restore_custom_field(custom_field_id: uuid.UUID):
    return _change(
        lambda: gettext(
            "Field %(field)s restored.",
            field=custom_fields.restore_field(current_tenant_session(), custom_field_id).label,
        )
    )


@pages.post("/settings/custom-fields/<uuid:custom_field_id>/purge")
def purge_custom_field(custom_field_id: uuid.UUID):
    def purge() -> str:
        session = current_tenant_session()
        label = custom_fields.get_field(session, custom_field_id).label
        custom_fields.purge_field(session, custom_field_id)
        return gettext("Field %(field)s and its data purged.", field=label)

    return _change(purge)


install_custom_field_pages(pages)
