"""API resources /api/v1/leads and /api/v1/leads/<id>/convert; thin wrappers over the lead services."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.core.api.records import register_record_resource
from saas.modules.sfa import conversion
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.lead_schemas import ConversionOut, ConvertIn, LeadIn, LeadListQuery, LeadOut, LeadPage
from saas.modules.sfa.leads import leads
from saas.tenants.routing import current_tenant_session

register_record_resource(api, "leads", leads, LeadIn, LeadOut, LeadPage, list_query=LeadListQuery)


@api.post("/leads/<uuid:lead_id>/convert")
@api.auth_required(token_auth)
@api.input(ConvertIn)
@api.output(ConversionOut)
@api.doc(
    summary="Convert a qualified lead",
    description="Makes (or links) a contact and an account, and with `deal` opens a deal. "
    "A lead that is not qualified, or was converted already, gets 409.",
    responses=[404, 409, 422],
)
def convert_lead(lead_id: uuid.UUID, json_data: dict):
    return conversion.convert_lead(current_tenant_session(), lead_id, deal=json_data["deal"])
