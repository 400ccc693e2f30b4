"""API resources /api/v1/notifications: the token user's own notifications, newest first, and marking
them read. Nobody reads or marks another member's."""

from __future__ import annotations

import uuid

from flask import g
from marshmallow import Schema, fields, validate

from saas.api import token_auth
from saas.modules.core.schemas import page_of
from saas.modules.notifications import services
from saas.modules.notifications.blueprints import api
from saas.modules.notifications.links import link_of
from saas.tenants.routing import current_tenant_session


class NotificationQuery(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})
    cursor = fields.String(validate=validate.Length(max=500), load_default=None)
    limit = fields.Integer(validate=validate.Range(min=1, max=200), load_default=50)


class NotificationOut(Schema):
    id = fields.UUID()
    kind = fields.String(
        metadata={"description": "mentioned, assigned, deal_moved, sla_at_risk or import_finished."}
    )
    actor_user_id = fields.UUID(allow_none=True)
    record_type = fields.String(allow_none=True, metadata={"description": "The record's table (contacts)."})
    record_id = fields.UUID(allow_none=True)
    record_label = fields.String()
    excerpt = fields.String(allow_none=True)
    details = fields.Dict()
    url = fields.Method("_url", metadata={"description": "The record's page in the workspace, if any."})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)

    def _url(self, row) -> str | None:
        return link_of(current_tenant_session(), row, external=True)


class MarkedAll(Schema):
    marked = fields.Integer(metadata={"description": "How many were unread."})


def _user_id() -> uuid.UUID:
    return g.api_principal.user.id


@api.get("/notifications")
@api.auth_required(token_auth)
@api.input(NotificationQuery, location="query")
@api.output(page_of(NotificationOut))
@api.doc(summary="List my notifications", description="The token user's own, newest first.")
def list_notifications(query_data: dict):
    return services.list_for(current_tenant_session(), _user_id(), **query_data)


@api.post("/notifications/<uuid:notification_id>/read")
@api.auth_required(token_auth)
@api.output(NotificationOut)
@api.doc(summary="Mark a notification read", responses=[404])
def mark_notification_read(notification_id: uuid.UUID):
    return services.mark_read(current_tenant_session(), _user_id(), notification_id)


@api.post("/notifications/read")
@api.auth_required(token_auth)
@api.output(MarkedAll)
@api.doc(summary="Mark all my notifications read")
def mark_all_notifications_read():
    return {"marked": services.mark_all_read(current_tenant_session(), _user_id())}
