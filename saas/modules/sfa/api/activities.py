"""API resource /api/v1/activities: the shared timeline, with ``deal_id`` for entries about a deal.

``contact_id`` / ``account_id`` list a person's or company's whole timeline (single customer view).
"""

from __future__ import annotations

from saas.modules.core.api.records import register_record_resource
from saas.modules.sfa.blueprints import api
from saas.modules.sfa.deal_schemas import (
    DealActivityIn,
    DealActivityListQuery,
    DealActivityOut,
    DealActivityPage,
)
from saas.modules.sfa.deals import deal_activities

register_record_resource(
    api,
    "activities",
    deal_activities,
    DealActivityIn,
    DealActivityOut,
    DealActivityPage,
    list_query=DealActivityListQuery,
)
