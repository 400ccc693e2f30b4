"""The analytics API and pages: exact figures on hand-made data through /api/v1/analytics/customers and
/api/v1/analytics/cohorts (deals per month by the source of the lead they came from), problem+json for bad
settings and a form message on the pages, the CSV download with workspace text kept from running as a
formula, opens not looked at while marketing is off, and tenant B seeing none of tenant A's figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.db import db, tenant_session
from saas.modules.sfa import conversion
from saas.modules.sfa.deals import deals
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Deal, Stage
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, login, make_token
from tests.modules.sfa.test_analytics import build_history


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _deal(session, *, created: str, closed: tuple[str, str] | None = None, source: str | None = None) -> None:
    """A deal created on ``created`` (from a lead with ``source`` if given), won or lost on ``closed``."""
    if source is None:
        deal = deals.create(session, {"name": "Plain", "amount": Decimal(100)})
    else:
        lead = leads.create(session, {"first_name": "From", "last_name": source, "source": source})
        lead.status = "qualified"
        session.flush()
        deal = conversion.convert_lead(session, lead.id, deal={"name": "Led", "amount": Decimal(100)}).deal
    if closed is not None:
        stages = {stage.name: stage.id for stage in session.scalars(select(Stage))}
        deals.move(
            session, deal.id, stages[closed[0]], lost_reason="Too dear" if closed[0] == "Lost" else None
        )
    stored = session.get(Deal, deal.id)
    stored.created_at = at(created)
    stored.closed_at = at(closed[1]) if closed else None
    session.flush()


def build_months(fixture) -> None:
    with tenant_session(fixture.ref) as session:
        _deal(session, created="2030-01-10", closed=("Won", "2030-02-15"), source="Website")
        _deal(session, created="2030-01-20", closed=("Lost", "2030-01-25"), source="=cmd")
        _deal(session, created="2030-02-01")
        _deal(session, created="2029-12-01", closed=("Won", "2030-03-01"))
        _deal(session, created="2030-02-05", source="Website")


EXPECTED_MONTHS = [
    # month, source, created, won, lost, cohort won, cohort lost, cohort open, cohort win rate
    ["2030-01", "=cmd", 1, 0, 1, 0, 1, 0, 0],
    ["2030-01", "Website", 1, 0, 0, 1, 0, 0, 100],
    ["2030-02", "Website", 1, 1, 0, 0, 0, 1, None],
    ["2030-02", None, 1, 0, 0, 0, 0, 1, None],
    ["2030-03", None, 0, 1, 0, 0, 0, 0, None],
]
KEYS = (
    "month",
    "source",
    "created",
    "won",
    "lost",
    "cohort_won",
    "cohort_lost",
    "cohort_open",
    "cohort_win_rate",
)


def test_api_cohorts_count_created_won_and_lost_per_month_by_lead_source(client, tenant_a, tenant_b):
    build_months(tenant_a)
    answer = client.get(
        "/api/v1/analytics/cohorts?start=2030-01&months=3", headers=bearer(make_token(tenant_a))
    )
    assert answer.status_code == 200
    assert answer.get_json()["months"] == ["2030-01", "2030-02", "2030-03"]
    assert [[row[key] for key in KEYS] for row in answer.get_json()["rows"]] == EXPECTED_MONTHS
    other = client.get(
        "/api/v1/analytics/cohorts?start=2030-01&months=3", headers=bearer(make_token(tenant_b))
    )
    assert other.get_json()["rows"] == []


def test_api_customers_answer_the_hand_made_figures_and_tenant_b_gets_none(client, tenant_a, tenant_b):
    build_history(tenant_a)
    headers = bearer(make_token(tenant_a))
    answer = client.get("/api/v1/analytics/customers?on=2031-01-01", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["base_currency"] == "EUR" and body["not_converted"] == ["GBP"]
    assert [(r["currency"], r["rate"]) for r in body["rates_used"]] == [("USD", "0.9000000000")]
    bravo = next(c for c in body["customers"] if c["account_name"] == "Bravo")
    assert (bravo["rfm"], bravo["segment"], bravo["historical_clv"], bravo["predicted_clv"]) == (
        "243", "at_risk", "1500.00", "4500.00"
    )  # fmt: skip
    assert bravo["churn_reasons"] == [{"kind": "stopped_buying", "days_since_last_won": 304,
                                       "usual_interval_days": "30.5", "unopened_emails": None,
                                       "last_opened_on": None}]  # fmt: skip
    assert {s["key"]: s["customers"] for s in body["segments"]}["at_risk"] == 2
    at_risk = client.get("/api/v1/analytics/customers?on=2031-01-01&segment=at_risk", headers=headers)
    assert sorted(c["account_name"] for c in at_risk.get_json()["customers"]) == ["Bravo", "Delta"]
    other = client.get("/api/v1/analytics/customers?on=2031-01-01", headers=bearer(make_token(tenant_b)))
    assert other.get_json()["customers"] == [] and other.get_json()["not_converted"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/analytics/customers?on=yesterday", "/api/v1/analytics/cohorts?start=2030-13",
     "/api/v1/analytics/cohorts?months=0", "/api/v1/analytics/cohorts?months=1.5",
     "/api/v1/analytics/cohorts?start=0000-01", "/api/v1/analytics/customers?segment=whales"],
)  # fmt: skip
def test_bad_analytics_settings_get_a_problem(client, tenant_a, path):
    answer = client.get(path, headers=bearer(make_token(tenant_a)))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"


def test_the_far_ends_of_the_calendar_answer_without_error(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    for path in (
        "/api/v1/analytics/customers?on=9999-12-31",
        "/api/v1/analytics/customers?on=0001-01-01",
        "/api/v1/analytics/cohorts?start=2999-12&months=36",
        "/api/v1/analytics/cohorts?start=1900-01",
    ):
        assert client.get(path, headers=headers).status_code == 200, path


def test_the_pages_show_segments_churn_reasons_and_the_months_and_refuse_bad_settings(client, tenant_a):
    build_history(tenant_a)
    build_months(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/analytics"
    page = client.get(f"{base}/customers?on=2031-01-01")
    assert page.status_code == 200
    assert "Champions" in page.text
    assert "average order value \N{MULTIPLICATION SIGN} won deals a year" in page.text
    assert "Stopped buying: no won deal for 304 days; usually one every 30.5 days." in page.text
    assert "1 USD = 0.9" in page.text and "no rate for GBP, left out" in page.text
    new_only = client.get(f"{base}/customers?on=2031-01-01&segment=new").text
    assert "Charlie" in new_only and "Bravo" not in new_only and "Delta" not in new_only
    months = client.get(f"{base}/cohorts?start=2030-01&months=3")
    assert months.status_code == 200 and "Website" in months.text and "No lead source" in months.text
    assert client.get(f"{base}/customers?on=soon").status_code == 422
    bad = client.get(f"{base}/cohorts?months=99")
    assert bad.status_code == 422 and "Please correct the report&#39;s settings." in bad.text


def test_the_csv_download_has_every_row_and_keeps_a_source_from_running_as_a_formula(client, tenant_a):
    build_months(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    download = client.get(f"/t/{tenant_a.slug}/analytics/cohorts.csv?start=2030-01&months=3")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.text)))
    guarded = {"=cmd": "'=cmd", None: "No lead source"}
    expected = [
        [month, guarded.get(source, source), *("" if v is None else str(v) for v in counts)]
        for month, source, *counts in EXPECTED_MONTHS
    ]
    assert rows[0][:2] == ["Month", "Lead source"] and rows[1:] == expected


def test_with_marketing_off_opens_are_not_looked_at_and_the_page_says_so(client, tenant_a):
    build_history(tenant_a)
    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", False, actor="test")
    db.session.commit()
    answer = client.get("/api/v1/analytics/customers?on=2031-01-01", headers=bearer(make_token(tenant_a)))
    assert answer.get_json()["opens_checked"] is False
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/analytics/customers?on=2031-01-01")
    assert "Email opens are not looked at: marketing is switched off." in page.text


def test_with_sales_off_the_analytics_pages_and_api_answer_404(client, tenant_a):
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    headers = bearer(make_token(tenant_a))
    for path in ("/api/v1/analytics/customers", "/api/v1/analytics/cohorts"):
        assert client.get(path, headers=headers).status_code == 404, path
    login(client, tenant_a.email, tenant_a.password)
    for path in ("/analytics/customers", "/analytics/cohorts", "/analytics/cohorts.csv"):
        assert client.get(f"/t/{tenant_a.slug}{path}").status_code == 404, path
