"""``/t/<slug>/pick/<record_type>?q=``: the matches a relation picker offers while a person types (JSON,
``static/record-picker.js``)."""

from __future__ import annotations

from flask import jsonify, request

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
