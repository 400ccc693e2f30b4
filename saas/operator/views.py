"""The operator pages under /operator/: every tenant's cell and moves, and the form that queues a move.

Only a signed-in user with the operator mark gets past the guard; anyone else gets the same 404 as an
unknown address (even for a POST without a CSRF token), so the area is not revealed. An operator acts on
every tenant's data, so a password alone is not enough: an operator without two-factor is sent to set it
up first (a password sign-in then always asks for the code), and a session a workspace's identity provider
opened, which never asked for our code, does not reach these pages at all.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from saas.auth import two_factor
from saas.auth.identity_views import SSO_TENANT_KEY
from saas.cells import cell_directory
from saas.db import db
from saas.errors import NotFound, ValidationError
from saas.extensions import csrf, limiter
from saas.operator import service

operator_pages = Blueprint("operator", __name__, template_folder="templates", url_prefix="/operator")
# CSRF is checked by the guard, after it: the app-wide check would answer a stranger 400, not 404.
csrf.exempt(operator_pages)

MOVE_RATE_LIMIT = "10 per minute;60 per hour"


def _signed_in_operator() -> bool:
    return (
        current_user.is_authenticated
        and session.get(SSO_TENANT_KEY) is None
        and service.is_operator(db.session, current_user.get_id())
    )


@operator_pages.before_request
def _operators_only():
    if not _signed_in_operator():
        raise NotFound("Not found.")
    if not two_factor.has_two_factor(db.session, current_user.id):
        flash(_("Operator pages need two-factor sign-in: set it up to continue."))
        return redirect(url_for("account.enable_two_factor", next=request.full_path))
    if request.method == "POST":
        csrf.protect()
    return None


@operator_pages.route("/")
def tenants():
    query = request.args.get("q", "")[:40]
    return render_template(
        "operator/tenants.html",
        placements=service.tenant_placements(db.session, query),
        cells=list(cell_directory()),
        query=query,
        shown=service.TENANTS_SHOWN,
        labels=service.STATUS_LABELS,
    )


def _tenant_page(slug: str, error: str | None = None, chosen: str = "", status: int = 200):
    tenant = service.tenant_by_slug(db.session, slug)
    page = render_template(
        "operator/tenant.html",
        tenant=tenant,
        cells=list(cell_directory()),
        moves=service.tenant_moves(db.session, tenant.id),
        requests=service.move_requests(db.session, tenant.id),
        progress=service.move_progress(db.session, tenant),
        error=error,
        chosen=chosen,
        labels=service.STATUS_LABELS,
    )
    return page, status


@operator_pages.route("/tenants/<slug>")
def tenant(slug: str):
    return _tenant_page(slug)


@operator_pages.route("/tenants/<slug>/move", methods=["POST"])
@limiter.limit(
    lambda: current_app.config.get("OPERATOR_MOVE_RATE_LIMIT", MOVE_RATE_LIMIT),
    exempt_when=lambda: not _signed_in_operator(),  # strangers get the guard's 404, never a 429
)
def move(slug: str):
    tenant = service.tenant_by_slug(db.session, slug)
    to_cell = request.form.get("cell", "")[:30]
    try:
        service.request_move(db.session, tenant, to_cell, operator_email=current_user.email)
    except ValidationError as refused:
        db.session.rollback()
        return _tenant_page(slug, error=refused.detail, chosen=to_cell, status=422)
    flash(_("The move is queued: this page shows its progress."))
    return redirect(url_for("operator.tenant", slug=slug))


@operator_pages.route("/tenants/<slug>/progress")
def progress(slug: str):
    return jsonify(service.move_progress(db.session, service.tenant_by_slug(db.session, slug)))


def register_operator_pages(app: Flask) -> None:
    app.register_blueprint(operator_pages)
