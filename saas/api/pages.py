"""Admin pages for API access and webhooks (/t/<slug>/settings/api, /settings/webhooks/<id>), the
public API reference at /api/v1/docs, and each workspace's own OpenAPI document (its custom fields typed):
``GET /api/v1/custom-fields/openapi.json`` for a token, ``/t/<slug>/api/openapi.json`` and
``/t/<slug>/api/docs`` for a signed-in member."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import INCLUDE, Schema, fields

from saas.api import api_blueprint, token_auth
from saas.api import credentials as creds
from saas.api.access import API_PREFIX, api_scopes, required_scope
from saas.api.openapi import generic_document, workspace_document
from saas.db import db
from saas.errors import SaasError
from saas.i18n import translate
from saas.modules.core.custom_fields import TYPES, key_of, list_fields
from saas.tenants.routing import current_tenant_session, require_role
from saas.webhooks import services as webhooks
from saas.webhooks.events import KNOWN_EVENTS

integration_pages = Blueprint("integrations", __name__, template_folder="templates")
api_docs = Blueprint("api_docs", __name__, template_folder="templates")
workspace_api_document = api_blueprint("workspace_openapi", __name__, tag="API documents")
workspace_api_pages = Blueprint("workspace_api", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")


@integration_pages.before_request
def _admins_only() -> None:
    require_role(*ADMIN_ROLES)


@integration_pages.get("/settings/api")
def overview():
    session = current_tenant_session()
    return render_template(
        "api/settings.html",
        clients=creds.list_clients(db.session, g.tenant.id),
        tokens=creds.list_api_tokens(db.session, g.tenant.id),
        scopes=api_scopes(current_app),
        subscriptions=webhooks.list_subscriptions(session, limit=200).data,
        events=KNOWN_EVENTS,
        new_secret=None,
    )


def _form_error(error: SaasError):
    messages = (translate(m) for ms in getattr(error, "errors", {}).values() for m in ms)
    flash(" ".join((translate(error.detail), *messages)))
    return redirect(url_for("integrations.overview"))


@integration_pages.post("/settings/api/clients")
def create_client():
    try:
        client, secret = creds.create_client(
            db.session, g.tenant.id, current_user.id, request.form.get("name", ""),
            request.form.getlist("scopes"), api_scopes(current_app), within=None,  # an admin: full access
        )  # fmt: skip
    except SaasError as error:
        return _form_error(error)
    db.session.commit()
    flash(
        _(
            "Client %(name)s created. Client id %(client_id)s; secret (shown once): %(secret)s",
            name=client.name,
            client_id=client.client_id,
            secret=secret,
        )
    )
    return redirect(url_for("integrations.overview"))


@integration_pages.post("/settings/api/clients/<uuid:client_pk>/revoke")
def revoke_client(client_pk: uuid.UUID):
    creds.revoke_client(db.session, g.tenant.id, client_pk, actor=str(current_user.id))
    db.session.commit()
    flash(_("Client revoked; its tokens stop working at once."))
    return redirect(url_for("integrations.overview"))


@integration_pages.post("/settings/api/tokens/<uuid:token_id>/revoke")
def revoke_token(token_id: uuid.UUID):
    creds.revoke_api_token(db.session, g.tenant.id, token_id, actor=str(current_user.id))
    db.session.commit()
    flash(_("Token revoked."))
    return redirect(url_for("integrations.overview"))


@integration_pages.post("/settings/webhooks")
def create_subscription():
    events = request.form.getlist("events") + request.form.get("other_events", "").split()
    try:
        subscription = webhooks.create_subscription(
            current_tenant_session(), request.form.get("url", ""), events, request.form.get("description")
        )
    except SaasError as error:
        return _form_error(error)
    flash(
        _(
            "Subscribed. Signing secret (also shown on the subscription's page): %(secret)s",
            secret=subscription.secret,
        )
    )
    return redirect(url_for("integrations.overview"))


@integration_pages.get("/settings/webhooks/<uuid:subscription_id>")
def subscription(subscription_id: uuid.UUID):
    session = current_tenant_session()
    found = webhooks.get_subscription(session, subscription_id)
    log = webhooks.list_deliveries(
        session, subscription_id=subscription_id, cursor=request.args.get("cursor") or None, limit=50
    )
    return render_template("api/subscription.html", subscription=found, log=log)


@integration_pages.post("/settings/webhooks/<uuid:subscription_id>")
def change_subscription(subscription_id: uuid.UUID):
    session = current_tenant_session()
    webhooks.get_subscription(session, subscription_id)  # another tenant's id: 404 before anything
    action = request.form.get("action")
    if action not in ("delete", "rotate", "enable", "disable"):
        abort(400)
    if action == "delete":
        webhooks.delete_subscription(session, subscription_id)
        flash(_("Subscription deleted."))
        return redirect(url_for("integrations.overview"))
    if action == "rotate":
        webhooks.rotate_secret(session, subscription_id)
        flash(_("New signing secret made; the old one no longer signs."))
    else:
        webhooks.update_subscription(session, subscription_id, {"is_active": action == "enable"})
        flash(_("Subscription enabled.") if action == "enable" else _("Subscription disabled."))
    return redirect(url_for("integrations.subscription", subscription_id=subscription_id))


def _operations(spec: dict) -> list[dict]:
    operations = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        for method, operation in methods.items():
            if method in ("get", "post", "put", "patch", "delete"):
                scope = required_scope(path, method)
                operations.append(
                    {"path": path, "method": method.upper(), "operation": operation, "scope": scope}
                )
    return operations


@api_docs.get(f"{API_PREFIX}/docs")
def reference():
    """Every operation of the OpenAPI document with the scope it needs; no external assets."""
    spec = generic_document(current_app).document
    return render_template("api/docs.html", spec=spec, operations=_operations(spec), workspace=None)


class OpenApiDocument(Schema):
    """An OpenAPI 3.1 document (described by its own specification, not repeated here)."""

    class Meta:
        unknown = INCLUDE

    openapi = fields.String(required=True)
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)
    components = fields.Dict()


def _workspace_document() -> dict:
    return workspace_document(current_app, current_tenant_session(), g.membership.tenant)


@workspace_api_document.get("/custom-fields/openapi.json")
@workspace_api_document.auth_required(token_auth)
@workspace_api_document.output(OpenApiDocument)
@workspace_api_document.doc(
    summary="This workspace's OpenAPI document",
    description="The API's document with this workspace's custom fields typed in each record's "
    "`custom_fields` and as `cf_<key>` list filters. Needs `custom-fields:read`, the scope that reads "
    "the field definitions it is made from.",
)
def workspace_openapi() -> Response:
    return jsonify(_workspace_document())


@workspace_api_pages.get("/api/openapi.json")
def workspace_openapi_page() -> Response:
    """The same document for a signed-in member (any role: members see the fields on every form)."""
    return jsonify(_workspace_document())


@workspace_api_pages.get("/api/docs")
def workspace_reference():
    spec = _workspace_document()
    return render_template(
        "api/docs.html",
        spec=spec,
        operations=_operations(spec),
        workspace=g.membership.tenant,
        custom_fields=[
            (definition, key_of(definition), TYPES[definition.field_type].label)
            for definition in list_fields(current_tenant_session())
        ],
    )
