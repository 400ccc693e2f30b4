"""The customer analytics and deals-by-month pages, the leads list with its score filters and columns, and
the segment page offering the lead score rule, in the pseudo-locale: no visible text outside the
translation layer but the workspace's own data (see tests/i18n/test_pseudo_locale.py for the method)."""

from __future__ import annotations

from saas.db import tenant_session
from saas.modules.core.services import contacts
from saas.modules.marketing.models import CampaignRecipient
from tests.conftest import login
from tests.i18n.test_pseudo_locale import page_leaks, pseudo_locale, pseudo_pages  # noqa: F401
from tests.modules.marketing.conftest import make_campaign
from tests.modules.sfa.test_analytics import HISTORY, at, build_history
from tests.modules.sfa.test_analytics_pages import build_months


def test_analytics_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    ids = build_history(tenant_a)
    build_months(tenant_a)
    campaigns = [make_campaign(tenant_a, name=f"News {i}") for i in range(4)]
    with tenant_session(tenant_a.ref) as session:  # a "stopped opening" reason on the page too
        contact = contacts.create(session, {"first_name": "Cee", "account_id": ids["Charlie"]}).id
        for index, campaign_id in enumerate(campaigns):
            day = at(f"2030-10-{index + 1:02d}")
            opened = day if index == 0 else None
            session.add(CampaignRecipient(campaign_id=campaign_id, contact_id=contact, email="c@example.org",
                                          status="sent", sent_at=day, opened_at=opened))  # fmt: skip
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    pages = pseudo_pages(
        client,
        {
            "customer analytics": f"{base}/analytics/customers?on=2031-01-01",
            "deals by month": f"{base}/analytics/cohorts?start=2030-01&months=3",
            "leads by score": f"{base}/leads?columns=name,rule_score,predicted_score&sort=-rule_score",
            "new segment": f"{base}/marketing/segments/new",
            "new workflow": f"{base}/workflows/new",
        },
    )
    pages |= pseudo_pages(
        client,
        {
            "customer analytics, bad date": f"{base}/analytics/customers?on=soon",
            "deals by month, bad months": f"{base}/analytics/cohorts?months=99",
        },
        statuses=(422,),
    )
    assert (
        "⟦Stopped opening" in pages["customer analytics"] and "⟦Stopped buying" in pages["customer analytics"]
    )
    data = {tenant_a.tenant.name, tenant_a.slug, tenant_a.email, *HISTORY, "EUR", "USD", "GBP", "Website",
            "=cmd", "From", "Cee", "News", "audience",  # the campaigns and their segments
            "pricing"}  # a path typed as an example ("/pricing") on the workflow page  # fmt: skip
    leaks = {name: page_leaks(text, data) for name, text in pages.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
