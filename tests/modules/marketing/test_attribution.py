"""Attribution: each won deal's amount goes to the first and the last touch (campaign open or click, form
submission, website session by referrer) of its contacts before the win, per currency and in the base
currency; on the campaign report, the Attribution page and the API; another tenant sees none of it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from saas.db import tenant_session
from saas.modules.core import currencies, services
from saas.modules.marketing import attribution, campaigns
from saas.modules.marketing.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    FormSubmission,
    MarketingForm,
)
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Deal, Stage
from saas.modules.website.models import WebsitePageView, WebsiteVisitor
from tests.conftest import bearer, login, make_token
from tests.modules.marketing.conftest import now

API = "/api/v1/marketing"


def _touched_workspace(fixture) -> dict[str, uuid.UUID]:
    """Ada: a website visit from search.example, Spring opened, a form, Summer clicked, then her deal is
    won (1000 EUR); a later visit does not count. Bob: Summer opened, then his deal is won (200 USD).
    Carl's won deal has no touch; an open deal and a deal won before any touch count for nothing."""
    t0 = now() - timedelta(days=30)
    with tenant_session(fixture.ref) as session:
        currencies.set_rate(session, "USD", "0.5", date.today() - timedelta(days=40), actor_user_id=None)
        ada, bob, carl = (
            services.contacts.create(session, {"first_name": name, "last_name": "T"}).id
            for name in ("Ada", "Bob", "Carl")
        )
        spring, summer = (
            Campaign(name="Spring", subject="S", status="sent"),
            Campaign(name="Summer", subject="S", status="sent"),
        )
        form = MarketingForm(name="Demo request", fields=["email"], purposes=[])
        session.add_all([spring, summer, form])
        session.flush()

        def touch(campaign: Campaign, contact_id: uuid.UUID, kind: str, days: float) -> None:
            recipient = session.scalar(
                select(CampaignRecipient).where(
                    CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.contact_id == contact_id
                )
            ) or CampaignRecipient(campaign_id=campaign.id, contact_id=contact_id, email="x@example.org",
                                   status="sent")  # fmt: skip
            session.add(recipient)
            session.flush()
            session.add(
                CampaignEvent(campaign_id=campaign.id, recipient_id=recipient.id, kind=kind,
                              occurred_at=t0 + timedelta(days=days))
            )  # fmt: skip

        touch(spring, ada, "open", 1)
        touch(summer, ada, "click", 5)
        touch(summer, bob, "open", 2)
        touch(summer, bob, "unsubscribe", 3)  # not a touch
        session.add(FormSubmission(form_id=form.id, contact_id=ada, submitted_at=t0 + timedelta(days=3)))
        visitor = WebsiteVisitor(id=uuid.uuid4(), contact_id=ada)
        session.add(visitor)
        session.flush()
        first_session, late_session = uuid.uuid4(), uuid.uuid4()
        session.add_all([
            WebsitePageView(visitor_id=visitor.id, session_id=first_session, occurred_at=t0, path="/",
                            referrer="https://search.example"),
            WebsitePageView(visitor_id=visitor.id, session_id=first_session, path="/pricing",
                            occurred_at=t0 + timedelta(minutes=5), referrer="https://other.example"),
            WebsitePageView(visitor_id=visitor.id, session_id=late_session, path="/",
                            occurred_at=t0 + timedelta(days=20), referrer=None),
        ])  # fmt: skip

        won = session.scalar(select(Stage.id).where(Stage.kind == "won"))
        made = {}
        for name, amount, currency, contact, days in (
            ("Ada's", "1000", "EUR", ada, 10), ("Bob's", "200", "USD", bob, 4),
            ("Carl's", "50", "EUR", carl, 10), ("Too early", "7", "EUR", ada, -1),
        ):  # fmt: skip
            deal = deals.create(
                session,
                {"name": name, "amount": Decimal(amount), "currency": currency, "contact_ids": [contact],
                 "stage_id": won},
            )  # fmt: skip
            session.execute(
                update(Deal).where(Deal.id == deal.id).values(closed_at=t0 + timedelta(days=days))
            )
            made[name] = deal.id
        deals.create(session, {"name": "Open", "amount": Decimal(999), "contact_ids": [ada]})
        return {"spring": spring.id, "summer": summer.id, "form": form.id}


def _rows(credits) -> set[tuple]:
    return {(c.channel, c.label, c.deals, tuple(sorted(c.amounts.items())), c.in_base) for c in credits}


def test_first_and_last_touch_credit_won_deals_per_currency_and_in_the_base_currency(
    client, tenant_a, tenant_b
):
    ids = _touched_workspace(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        result = attribution.attribution(session)
        summer = campaigns.campaign_report(session, ids["summer"], revenue=True).revenue
        spring = campaigns.campaign_report(session, ids["spring"], revenue=True).revenue
        assert campaigns.campaign_report(session, ids["spring"]).revenue is None  # only when asked for
    assert _rows(result.first_touch) == {
        ("website", "https://search.example", 1, (("EUR", Decimal("1000.00")),), Decimal("1000.00")),
        ("campaign", "Summer", 1, (("USD", Decimal("200.00")),), Decimal("100.00")),
    }
    assert _rows(result.last_touch) == {
        (
            "campaign",
            "Summer",
            2,
            (("EUR", Decimal("1000.00")), ("USD", Decimal("200.00"))),
            Decimal("1100.00"),
        ),
    }
    assert (summer["first_touch"]["deals"], summer["first_touch"]["in_base_currency"]) == (1, "100.00")
    assert (summer["last_touch"]["deals"], summer["last_touch"]["in_base_currency"]) == (2, "1100.00")
    assert summer["last_touch"]["amounts"] == {"EUR": "1000.00", "USD": "200.00"}
    assert (spring["first_touch"]["deals"], spring["last_touch"]["deals"]) == (0, 0)
    assert summer["currency"]["rates_used"][0]["currency"] == "USD"

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/attribution")
    assert page.status_code == 200
    assert 'id="attribution-first_touch"' in page.text and "https://search.example" in page.text
    report = client.get(f"/t/{tenant_a.slug}/marketing/campaigns/{ids['summer']}/report")
    assert report.status_code == 200 and 'id="campaign-revenue"' in report.text
    headers = bearer(make_token(tenant_a))
    answer = client.get(f"{API}/attribution", headers=headers).get_json()
    assert [(c["label"], c["in_base_currency"]) for c in answer["last_touch"]] == [("Summer", "1100.00")]
    assert answer["currency"]["base_currency"] == "EUR"
    api_report = client.get(f"{API}/campaigns/{ids['summer']}/report", headers=headers).get_json()
    assert api_report["revenue"]["first_touch"]["amounts"] == {"USD": "200.00"}

    # Another workspace sees none of it, by page or API, and cannot open the campaign's report.
    as_b = bearer(make_token(tenant_b))
    assert client.get(f"{API}/attribution", headers=as_b).get_json()["first_touch"] == []
    assert client.get(f"{API}/campaigns/{ids['summer']}/report", headers=as_b).status_code == 404
    login(client, tenant_b.email, tenant_b.password)
    page_b = client.get(f"/t/{tenant_b.slug}/marketing/attribution")
    assert page_b.status_code == 200 and "Summer" not in page_b.text and "search.example" not in page_b.text
    with tenant_session(tenant_b.ref) as session:
        assert attribution.attribution(session).last_touch == []
