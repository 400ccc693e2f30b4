"""``/api/v1/phone-settings``: the workspace's default phone region (reading for every member; changes for
owners and admins)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.api import token_auth
from saas.api.resources import admins_only
from saas.modules.core import phones
from saas.modules.core.blueprints import api
from saas.tenants.routing import current_tenant_session


class PhoneSettingsBody(Schema):
    class Meta:
        unknown = RAISE

    region = fields.String(
        required=True, allow_none=False, validate=validate.Length(equal=2),
        metadata={"description": "ISO 3166 alpha-2 code, e.g. DE."},
    )  # fmt: skip


class PhoneSettingsOut(Schema):
    region = fields.String(
        required=True, allow_none=True,
        metadata={"description": "Numbers without a country code are read in this region; null: none."},
    )  # fmt: skip


@api.get("/phone-settings")
@api.auth_required(token_auth)
@api.output(PhoneSettingsOut)
@api.doc(summary="The workspace's default phone region")
def get_phone_settings():
    return {"region": phones.phone_region(current_tenant_session())}


@api.put("/phone-settings")
@api.auth_required(token_auth)
@api.input(PhoneSettingsBody)
@api.output(PhoneSettingsOut)
@api.doc(
    summary="Change the default phone region",
    description="Numbers written without a country code are read in it; stored numbers keep theirs.",
    responses=[403, 422],
)
@admins_only
def put_phone_settings(json_data):
    return {"region": phones.set_phone_region(current_tenant_session(), json_data["region"])}
