"""The audit log for a workspace's owners and admins: /t/<slug>/settings/audit and GET /api/v1/audit."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import Range
from flask import Blueprint, Flask, g, render_template, request

from saas import extensions
from saas.api import api_blueprint, token_auth
from saas.db import db
from saas.errors import ValidationError
from saas.tenants.audit_log import MAX_PAGE_SIZE, PAGE_SIZE, list_audit_entries
from saas.tenants.routing import install_tenant_page_routing, require_role

audit_pages = Blueprint("audit_log", __name__, template_folder="templates")
audit_api = api_blueprint("audit_api", __name__, tag="Audit")

ADMIN_ROLES = ("owner", "admin")


def _before(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError("`before` must be an entry id.", {"before": ["An integer."]}) from None


@audit_pages.route("/settings/audit")
def log_page():
    require_role(*ADMIN_ROLES)
    action, actor = request.args.get("action", ""), request.args.get("actor", "")
    entries, next_before = list_audit_entries(
        db.session, g.tenant.id, action=action, actor=actor, before=_before(request.args.get("before"))
    )
    return render_template(
        "audit/log.html", entries=entries, next_before=next_before, action=action, actor=actor
    )


log_page.allowed_when_read_only = True


class AuditQuery(Schema):
    action = String(load_default=None, metadata={"description": "An action or its family, e.g. `member`."})
    actor = String(load_default=None, metadata={"description": "A user's email or id, or `job`, `system`…"})
    before = Integer(load_default=None, metadata={"description": "The `next_before` of the previous page."})
    limit = Integer(load_default=PAGE_SIZE, validate=Range(1, MAX_PAGE_SIZE))


class AuditEntryOut(Schema):
    id = Integer()
    at = DateTime()
    actor = String()
    actor_email = String(allow_none=True)
    action = String()
    target = String(allow_none=True)
    ip = String(allow_none=True)
    details = Dict()
    imported_from = String(
        allow_none=True,
        metadata={"description": "Set on history imported with an archive: the workspace it was written in."},
    )


class AuditPage(Schema):
    data = List(Nested(AuditEntryOut))
    next_before = Integer(allow_none=True)


@audit_api.get("/audit")
@audit_api.auth_required(token_auth)
@audit_api.input(AuditQuery, location="query", arg_name="query")
@audit_api.output(AuditPage)
@audit_api.doc(summary="The workspace's audit log, newest first (owners and admins)", responses=[403])
def list_audit(query: dict):
    require_role(*ADMIN_ROLES)
    entries, next_before = list_audit_entries(
        db.session,
        g.tenant.id,
        action=query["action"],
        actor=query["actor"],
        before=query["before"],
        limit=query["limit"],
    )
    return {"data": [e.__dict__ for e in entries], "next_before": next_before}


list_audit.allowed_when_read_only = True


def register_audit_pages(app: Flask) -> None:
    install_tenant_page_routing(audit_pages)
    app.register_blueprint(audit_pages, url_prefix="/t/<slug>")
    # Token-authenticated, no cookies: CSRF does not apply.
    extensions.csrf.exempt(audit_api)
    app.register_blueprint(audit_api)
