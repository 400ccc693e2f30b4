"""Macro pages: canned replies and ticket changes, shared (admins) and personal."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.core.views.records import load_form
from saas.modules.service import macros
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import pages
from saas.modules.service.models import (
    MACRO_SCOPES,
)
from saas.modules.service.views.tickets import _ticket_context
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session


def _macro_form() -> dict[str, Any]:
    """The posted macro: every field, so that a field left blank clears it."""
    data: dict[str, Any] = {name: request.form.get(name, "") for name in macros.FIELDS if name != "tags"}
    data["tags"] = [tag for tag in request.form.get("tags", "").replace(";", ",").split(",") if tag.strip()]
    if g.membership.role not in ADMIN_ROLES:
        data["scope"] = data["scope"] or "personal"
    return data


def _macro_context() -> dict[str, Any]:
    return {
        **_ticket_context(),
        "scope_options": [(scope, _(scope.capitalize())) for scope in MACRO_SCOPES],
        "kind_options": [("public", _("Public reply")), ("note", _("Internal note"))],
        "may_share": g.membership.role in ADMIN_ROLES,
        "merge_fields": list(macros.MERGE_FIELDS),
    }


def _render_macros(status: int = 200, **form: Any):
    return render_template(
        "service/macros.html",
        macros=macros.list_macros(current_tenant_session()),
        form=form,
        **_macro_context(),
    ), status


@pages.get("/macros")
def list_macros():
    return _render_macros()


@pages.post("/macros")
def create_macro():
    data = _macro_form()
    try:
        loaded = load_form(s.MacroIn(), data, "Please correct the macro.")
        macro = macros.create_macro(current_tenant_session(), loaded)
    except ValidationError as error:
        return _render_macros(422, values=request.form, errors=error.errors, message=translate(error.detail))
    flash(_("Macro %(name)s saved.", name=macro.name))
    return redirect(url_for("service.list_macros"))


@pages.route("/macros/<uuid:macro_id>", methods=["GET", "POST"])
def edit_macro(macro_id: uuid.UUID):
    session = current_tenant_session()
    macro = macros.get_macro(session, macro_id)
    values: Any = {name: getattr(macro, name) or "" for name in macros.FIELDS}
    values["tags"] = ", ".join(macro.tags)
    errors: dict[str, Any] = {}
    message = None
    if request.method == "POST":
        values = request.form
        try:
            loaded = load_form(s.MacroIn(), _macro_form(), "Please correct the macro.")
            macros.update_macro(session, macro_id, loaded)
        except ValidationError as error:
            errors, message = error.errors, translate(error.detail)
        else:
            flash(_("Macro %(name)s saved.", name=macro.name))
            return redirect(url_for("service.list_macros"))
    return render_template(
        "service/macro_form.html", macro=macro, values=values, errors=errors, message=message,
        **_macro_context(),
    ), (422 if message else 200)  # fmt: skip


@pages.post("/macros/<uuid:macro_id>/delete")
def delete_macro(macro_id: uuid.UUID):
    macros.delete_macro(current_tenant_session(), macro_id)
    flash(_("Macro deleted."))
    return redirect(url_for("service.list_macros"))
