"""Saved views on the list pages: "Save this view" and the list of views that re-open a list's query."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.core import objects, saved_views
from saas.modules.core.blueprints import pages
from saas.modules.core.models import SavedView
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session


def _list_url(entity: str, **arguments: Any) -> str:
    """The list page to go back to: the form names it, but only a real list of ``entity`` is taken; a
    custom object's list is its own page of the shared object lists."""
    if objects.is_object_table(entity):
        key = entity.removeprefix(objects.TABLE_PREFIX)
        return url_for("core.list_object_records", object_key=key, **arguments)
    endpoint = request.form.get("list_endpoint", "")
    if not (endpoint.endswith(f".list_{entity}") and endpoint in current_app.view_functions):
        endpoint = "core.list_contacts"
    return url_for(endpoint, **arguments)


@pages.app_template_global()
def saved_views_of(pages_of: Any) -> list[SavedView] | None:
    """The member's and the shared views of a list page's record type; ``None`` where views do not apply.

    ``pages_of`` is the list's ``RecordPages`` or, for a list page of its own (tickets), its ``RecordList``.
    """
    entity = pages_of.service.model.__tablename__
    if not saved_views.is_view_entity(entity) or g.get("membership") is None:
        return None
    return saved_views.visible(current_tenant_session(), g.membership.user_id, entity)


@pages.app_template_global()
def saved_view_arguments(view: SavedView) -> dict[str, str]:
    """The list page's URL arguments that re-open a view."""
    return saved_views.page_arguments(view)


@pages.post("/saved-views")
def create_saved_view():
    entity = request.form.get("entity", "")
    # The list's current query string, as the page put it in the form; its chosen columns apart.
    pairs = parse_qsl(request.form.get("query", ""), keep_blank_values=True)
    query = {name: value for name, value in pairs if name not in ("cursor", "columns")}
    columns = [key for name, value in pairs if name == "columns" for key in value.split(",")]
    data = {
        "entity": entity,
        "name": request.form.get("name", ""),
        "query": query,
        "columns": columns,
        "shared": request.form.get("shared") == "on",
    }
    try:
        view = saved_views.create(current_tenant_session(), g.membership.user_id, data)
    except ValidationError as error:
        problems = "; ".join(
            f"{name}: {' '.join(map(translate, messages if isinstance(messages, list) else [messages]))}"
            for name, messages in error.errors.items()
        )
        reason = f"{translate(error.detail)} {problems}".strip()
        flash(gettext("The view was not saved. %(reason)s", reason=reason))
        return redirect(
            _list_url(entity, **query, **({"columns": ",".join(columns)} if columns else {})), 303
        )
    flash(gettext("View “%(name)s” saved.", name=view.name))
    return redirect(_list_url(entity, **saved_views.page_arguments(view)), 303)


@pages.post("/saved-views/<uuid:saved_view_id>/delete")
def delete_saved_view(saved_view_id: uuid.UUID):
    view = saved_views.delete(
        current_tenant_session(), g.membership.user_id, saved_view_id,
        is_admin=g.membership.role in ADMIN_ROLES,
    )  # fmt: skip
    flash(gettext("View “%(name)s” deleted.", name=view.name))
    return redirect(_list_url(view.entity), 303)
