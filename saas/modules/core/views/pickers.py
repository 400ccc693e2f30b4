"""``/t/<slug>/pick/<record_type>?q=``: the matches a relation picker offers while a person types (JSON,
``static/record-picker.js``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from saas.errors import NotFound
from saas.modules.core import pickers
from saas.modules.core.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/pick/<record_type>")
def pick_records(record_type: str):
    session = current_tenant_session()
    found = pickers.pick(
        session,
        pickers.pickable_type(session, record_type),
        request.args.get("q", ""),
        request.args.get("limit", pickers.PICK_LIMIT, type=int),
    )
    return jsonify(data=[{"id": str(p.id), "label": p.label, "detail": p.detail} for p in found])


@pages.app_template_global()
def reference_label(table: str, record_id: Any) -> str:
    """The name a relation picker shows for the record it holds (empty for none or an unknown one)."""
    if not record_id:
        return ""
    session = current_tenant_session()
    try:
        return pickers.label_for(session, pickers.pickable_type(session, table), record_id) or ""
    except NotFound:  # its module was switched off: the id stays, unnamed
        return ""
