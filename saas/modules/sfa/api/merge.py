"""``POST /api/v1/leads/<id>/merge`` (core's merge resource with the lead's fields)."""

from saas.modules.core.api.merge import register_merge_resource
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.lead_schemas import LeadOut
from saas.modules.sfa.merge import LEAD_KIND

register_merge_resource(api, "leads", LEAD_KIND, LeadOut)
