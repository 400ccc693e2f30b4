"""Modules' report sources in the report builder: marketing's attribution (won-deal revenue and deal count
by touch model, source, kind of source, campaign and month) and sales' customers (RFM segment, churn risk,
lifetime value) run like record types through the API, the page and CSV, in the reader's language; they
are saved and pinned to the dashboard; a switched-off module's source is refused with a clear error; and
another workspace sees none of the figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.modules.core import saved_reports
from saas.modules.core.currencies import set_rate
from saas.modules.core.services import accounts
from saas.modules.sfa import analytics
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, login, make_token
from tests.modules.marketing.test_attribution import _touched_workspace
from tests.modules.sfa.test_analytics import won_deal

ATTRIBUTION = "marketing.attribution"


def _customers(fixture) -> None:
    """Alpha won 1000 EUR three times (700, 400 and 10 days ago), Bravo 500 EUR once 800 days ago, Charlie
    1000 USD (at 0.9) 30 days ago, Delta 100 GBP (no rate: 0 in the base currency) 60 days ago."""
    today = datetime.now(UTC).date()
    with tenant_session(fixture.ref) as session:
        set_rate(session, "USD", "0.9", date(2020, 1, 1), actor_user_id=None)
        for name, won in (("Alpha", [(700, "1000", "EUR"), (400, "1000", "EUR"), (10, "1000", "EUR")]),
                          ("Bravo", [(800, "500", "EUR")]), ("Charlie", [(30, "1000", "USD")]),
                          ("Delta", [(60, "100", "GBP")])):  # fmt: skip
            account_id = accounts.create(session, {"name": name}).id
            for days, amount, currency in won:
                won_deal(session, account_id, (today - timedelta(days=days)).isoformat(), amount, currency)


def _rows(client, headers, **params) -> list[tuple]:
    response = client.get(f"/api/v1/reports?{urlencode(params)}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(row["group_label"], row["then_label"], row["value"]) for row in response.get_json()["rows"]]


def test_attribution_groups_won_revenue_and_deals_by_model_source_kind_campaign_and_month(client, tenant_a):
    _touched_workspace(tenant_a)
    headers = bearer(make_token(tenant_a))
    # Ada's 1000 EUR: first touch a search visit, last touch Summer; Bob's 200 USD (at 0.5): Summer both.
    assert _rows(client, headers, entity=ATTRIBUTION, group_by="model") == [
        ("First touch", None, "2"), ("Last touch", None, "2")
    ]  # fmt: skip
    last = _rows(
        client, headers, entity=ATTRIBUTION, group_by="label", f_model="last_touch", measure="sum",
        field="revenue",
    )  # fmt: skip
    assert last == [("Summer", None, "1100.00")]
    first = _rows(
        client, headers, entity=ATTRIBUTION, group_by="channel", then_by="campaign", f_model="first_touch",
        measure="sum", field="revenue",
    )  # fmt: skip
    assert first == [("Website", None, "1000.00"), ("Campaign", "Summer", "100.00")]
    months = _rows(client, headers, entity=ATTRIBUTION, group_by="won_month", f_model="first_touch")
    assert sum(int(value) for _, _, value in months) == 2 and all(len(m) == 7 for m, _, _ in months)
    answer = client.get(
        f"/api/v1/reports?entity={ATTRIBUTION}&group_by=model&measure=sum&field=revenue", headers=headers
    ).get_json()
    assert answer["conversion"]["base_currency"] == "EUR"
    assert answer["conversion"]["rates_used"][0]["currency"] == "USD"
    bad_reports = (
        {"group_by": "deal_id"}, {"group_by": "model", "measure": "sum", "field": "label"},
        {"group_by": "model", "f_cf_region": "north"}, {"group_by": "model", "f_title": "x"},
    )  # fmt: skip
    for bad in bad_reports:
        refused = client.get(f"/api/v1/reports?{urlencode({'entity': ATTRIBUTION, **bad})}", headers=headers)
        assert refused.status_code == 422, bad
        assert refused.mimetype == "application/problem+json"


def test_the_report_page_offers_sources_in_the_readers_language_with_chart_and_csv(client, tenant_a):
    _touched_workspace(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/reports"
    page = client.get(f"{base}?entity={ATTRIBUTION}&group_by=label&then_by=model&measure=sum&field=revenue")
    assert page.status_code == 200
    assert "Attribution (first and last touch)" in page.text and "Touch model" in page.text
    assert "<svg" in page.text and "https://search.example" in page.text and "1100.00" in page.text
    assert "Amounts in EUR" in page.text
    german = client.get(f"{base}?entity={ATTRIBUTION}&group_by=channel", headers={"Accept-Language": "de"})
    assert "Art der Quelle" in german.text and "Kampagne" in german.text
    csv = client.get(f"{base}.csv?entity={ATTRIBUTION}&group_by=label&f_model=last_touch")
    assert csv.status_code == 200 and csv.text.splitlines() == ["label,count", "Summer,2"]
    bad = client.get(f"{base}?entity={ATTRIBUTION}&group_by=deal_id")
    assert bad.status_code == 422 and "Group by one of" in bad.text


def test_a_saved_attribution_report_is_a_dashboard_card_until_marketing_is_switched_off(client, tenant_a):
    _touched_workspace(tenant_a)
    headers = bearer(make_token(tenant_a))
    params = {"entity": ATTRIBUTION, "group_by": "label", "measure": "sum", "field": "revenue",
              "filters": {"model": "last_touch"}}  # fmt: skip
    saved = client.post(
        "/api/v1/saved-reports", json={"name": "Last touch", "params": params}, headers=headers
    )
    assert saved.status_code == 201, saved.get_json()
    report_id = saved.get_json()["id"]
    pinned = client.patch(f"/api/v1/saved-reports/{report_id}", json={"pinned": True}, headers=headers)
    assert pinned.status_code == 200
    login(client, tenant_a.email, tenant_a.password)
    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    card = dashboard[dashboard.index(f"core.report.{report_id}") :]
    assert "Summer: 1,100" in card and "f_model=last_touch" in card

    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", False, actor="test")
    db.session.commit()
    off = client.get(f"/api/v1/reports?entity={ATTRIBUTION}&group_by=label", headers=headers)
    assert off.status_code == 404 and off.get_json()["title"] == "Module switched off"
    assert "Marketing module is switched off" in off.get_json()["detail"]
    refused = client.post("/api/v1/saved-reports", json={"name": "Again", "params": params}, headers=headers)
    assert refused.status_code == 404
    page = client.get(f"/t/{tenant_a.slug}/reports")
    assert "Attribution (first and last touch)" not in page.text  # not offered while off
    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    assert "This report no longer runs" in dashboard and "Marketing module is switched off" in dashboard


def test_customers_group_by_rfm_segment_and_churn_risk_and_sum_lifetime_value(client, tenant_a):
    _customers(tenant_a)
    headers = bearer(make_token(tenant_a))
    with tenant_session(tenant_a.ref) as session:
        expected = analytics.customer_analytics(session).by_segment()
    segments = _rows(client, headers, entity="sfa.customers", group_by="segment")
    assert sorted(segments) == sorted((s.name, None, str(n)) for s, n in expected if n)
    assert sum(int(value) for _, _, value in segments) == 4
    # Alpha's usual interval is 300 days and its last win 10 days ago: no churn sign for anyone.
    clv = _rows(client, headers, entity="sfa.customers", group_by="churn_risk", measure="sum",
                field="historical_clv")  # fmt: skip
    assert clv == [("No sign of churn", None, "4400.00")]  # 3000 + 500 + 900 + 0 (GBP without a rate)
    deals = _rows(client, headers, entity="sfa.customers", group_by="f_score", measure="sum",
                  field="won_deals")  # fmt: skip
    assert sum(float(value) for _, _, value in deals) == 6
    # The API speaks English; the page speaks the reader's language.
    login(client, tenant_a.email, tenant_a.password)
    german = client.get(
        f"/t/{tenant_a.slug}/reports?entity=sfa.customers&group_by=churn_risk",
        headers={"Accept-Language": "de"},
    )
    assert german.status_code == 200 and "No sign of churn" not in german.text
    assert "Kunden (RFM, Abwanderungsrisiko, Kundenwert)" in german.text


def test_tenant_b_report_sources_show_none_of_tenant_a_figures(client, tenant_a, tenant_b):
    _touched_workspace(tenant_a)
    _customers(tenant_a)
    as_b = bearer(make_token(tenant_b))
    assert _rows(client, as_b, entity=ATTRIBUTION, group_by="label") == []
    assert _rows(client, as_b, entity="sfa.customers", group_by="segment") == []
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/reports?entity={ATTRIBUTION}&group_by=label")
    assert page.status_code == 200 and "Summer" not in page.text and "search.example" not in page.text


def test_an_archives_saved_report_may_name_a_source_only_by_its_own_fields():
    kept = {"entity": ATTRIBUTION, "group_by": "label", "measure": "sum", "field": "revenue",
            "filters": {"model": "first_touch"}}  # fmt: skip
    saved_reports.check_stored(kept, lambda entity: [])
    for bad in ({**kept, "group_by": "deal_id"}, {**kept, "filters": {"cf_region": "north"}},
                {**kept, "entity": "marketing.nothing"}):  # fmt: skip
        with pytest.raises(ValidationError):
            saved_reports.check_stored(bad, lambda entity: [])
