"""``/api/v1/marketing/settings``: the sender settings."""

from __future__ import annotations

from saas.api import token_auth
from saas.errors import NotFound
from saas.modules.marketing import campaigns
from saas.modules.marketing.audit import audit_marketing
from saas.modules.marketing.blueprints import api
from saas.modules.marketing.schemas import (
    SettingsIn,
    SettingsOut,
)
from saas.tenants.routing import current_tenant_session, require_role

P = "/marketing"


@api.get(f"{P}/settings")
@api.auth_required(token_auth)
@api.output(SettingsOut)
@api.doc(summary="The sender identity and time zone", responses=[404])
def get_settings():
    settings = campaigns.get_settings(current_tenant_session())
    if settings is None:
        raise NotFound("No sender is set yet.")
    return settings


@api.put(f"{P}/settings")
@api.auth_required(token_auth)
@api.input(SettingsIn)
@api.output(SettingsOut)
@api.doc(summary="Set the sender identity and time zone (owners and admins)", responses=[403, 422])
def put_settings(json_data: dict):
    require_role("owner", "admin")
    session = current_tenant_session()
    settings = campaigns.save_settings(session, json_data)
    audit_marketing(session, "settings.changed", None, {"time_zone": settings.time_zone})
    return settings
