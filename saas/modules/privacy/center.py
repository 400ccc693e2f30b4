"""The privacy center's old addresses (/p/<slug>/...): each answers with a permanent redirect to the
same path in the customer hub, which took its place, so pages and links mailed before still work.

The hub signs its links as the center did, so an old ``enter`` or ``confirm`` link opens the hub as is.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect
from sqlalchemy import select

from saas.db import db
from saas.modules.privacy.hub import hub_address
from saas.tenants.models import Tenant

privacy_center = Blueprint("privacy_center", __name__)


@privacy_center.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
@privacy_center.route("/<path:rest>", methods=["GET", "POST"])
def start(slug: str, rest: str):
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None:
        abort(404)
    # 308 keeps a form's POST a POST (a page opened before the move still submits).
    return redirect(hub_address(slug, rest), 308)
