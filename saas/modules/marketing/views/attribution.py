"""The attribution page: won-deal revenue by the first and last touch before the win."""

from __future__ import annotations

from flask import render_template

from saas.modules.marketing import attribution
from saas.modules.marketing.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/marketing/attribution")
def attribution_page():
    return render_template(
        "marketing/attribution.html", attribution=attribution.attribution(current_tenant_session()).as_dict()
    )
