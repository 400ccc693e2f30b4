"""Currencies: a base currency per workspace, dated exchange rates entered by admins or imported from the
ECB's reference-rate file, and pipeline, forecast and dashboard totals in the base currency that say which
rate they used and never convert a currency without one."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member, create_api_token
from saas.db import db, tenant_session
from saas.modules.core import currencies
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token

TODAY = date.today()
NEXT_MONTH = (TODAY.replace(day=1) + timedelta(days=32)).replace(day=15)
# Two days of the ECB's eurofxref-hist.csv layout: a trailing comma, N/A for a day without a rate.
ECB_FILE = (
    "Date,USD,JPY,RUB,CNY,GBP,\n"
    f"{TODAY - timedelta(days=1)},1.0500,160.00,N/A,7.6000,0.8400,\n"
    f"{TODAY - timedelta(days=2)},1.0400,159.00,N/A,7.5500,0.8300,\n"
    "not-a-day,1.0,1.0,1.0,1.0,1.0,\n"
    f"{TODAY - timedelta(days=3)},1.0300,-1,N/A,7.5000,0.8200,\n"
)


@pytest.fixture
def admin(tenant_a):
    return bearer(make_token(tenant_a))


def _member_headers(tenant) -> dict[str, str]:
    email = f"rep-{tenant.slug}@example.com"
    add_member(db.session, tenant.tenant.id, email, PASSWORD, "member", actor="tests")
    _, secret = create_api_token(db.session, tenant.slug, email, "rep")
    db.session.commit()
    return bearer(secret)


def _deal(client, headers, name: str, amount: str, currency: str) -> dict:
    response = client.post(
        "/api/v1/deals",
        json={"name": name, "amount": amount, "currency": currency, "close_date": NEXT_MONTH.isoformat()},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _rate(client, headers, currency: str, rate: str, valid_on: date, status: int = 201) -> dict:
    response = client.post(
        "/api/v1/exchange-rates",
        json={"currency": currency, "rate": rate, "valid_on": valid_on.isoformat()},
        headers=headers,
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_forecast_in_the_base_currency_uses_the_latest_rate_and_names_currencies_without_one(client, admin):
    _deal(client, admin, "Berlin", "1000.00", "EUR")
    _deal(client, admin, "Boston", "2000.00", "USD")
    _deal(client, admin, "Tokyo", "100000", "JPY")  # no rate: never converted
    _rate(client, admin, "USD", "0.80", TODAY - timedelta(days=10))
    _rate(client, admin, "USD", "0.90", TODAY - timedelta(days=1))  # the latest one counts
    _rate(client, admin, "USD", "5.00", TODAY + timedelta(days=5))  # not in force yet

    body = client.get("/api/v1/forecast", headers=admin).get_json()
    base = body["in_base_currency"]
    assert base["base_currency"] == "EUR" and base["not_converted"] == ["JPY"]
    assert [(r["currency"], Decimal(r["rate"])) for r in base["rates_used"]] == [("USD", Decimal("0.9"))]
    assert base["rates_used"][0]["valid_on"] == (TODAY - timedelta(days=1)).isoformat()
    # Best case: every open deal; 1000 EUR + 2000 USD x 0.90, JPY left out.
    assert Decimal(base["totals"]["best_case"]) == Decimal("2800.00")
    # The deals themselves keep their own amount and currency.
    per_currency = {row["currency"]: Decimal(row["totals"]["best_case"]) for row in body["currencies"]}
    assert per_currency == {"EUR": Decimal("1000.00"), "USD": Decimal("2000.00"), "JPY": Decimal("100000.00")}
    deals = client.get("/api/v1/deals", headers=admin).get_json()["data"]
    assert {(d["currency"], Decimal(d["amount"])) for d in deals} >= {("USD", Decimal("2000.00"))}


def test_changing_the_base_currency_uses_only_rates_given_for_it(client, admin):
    _deal(client, admin, "Moscow", "90000", "RUB")
    _rate(client, admin, "RUB", "0.01", TODAY)
    response = client.put("/api/v1/currency-settings", json={"base_currency": "usd"}, headers=admin)
    assert response.status_code == 200 and response.get_json() == {"base_currency": "USD"}

    base = client.get("/api/v1/forecast", headers=admin).get_json()["in_base_currency"]
    assert base["base_currency"] == "USD" and base["not_converted"] == ["RUB"]
    assert client.get("/api/v1/exchange-rates", headers=admin).get_json()["data"] == []


def test_bad_rates_and_codes_are_refused_as_problems_and_nothing_is_written(client, admin):
    for body in (
        {"currency": "XYZ", "rate": "1", "valid_on": TODAY.isoformat()},
        {"currency": "USD", "rate": "0", "valid_on": TODAY.isoformat()},
        {"currency": "USD", "rate": "-2", "valid_on": TODAY.isoformat()},
        {"currency": "EUR", "rate": "1", "valid_on": TODAY.isoformat()},  # the base itself
        {"currency": "USD", "rate": "1", "valid_on": "yesterday"},
    ):
        response = client.post("/api/v1/exchange-rates", json=body, headers=admin)
        assert response.status_code == 422, (body, response.get_json())
        assert response.content_type == "application/problem+json"
    response = client.put("/api/v1/currency-settings", json={"base_currency": "EURO"}, headers=admin)
    assert response.status_code == 422
    assert client.get("/api/v1/exchange-rates", headers=admin).get_json()["data"] == []


def test_the_ecb_reference_file_is_imported_with_each_refused_line_and_its_reason(client, admin, tenant_a):
    response = client.post(
        "/api/v1/exchange-rates/reference-file",
        data={"file": (io.BytesIO(ECB_FILE.encode()), "eurofxref-hist.csv")},
        headers=admin,
    )
    report = response.get_json()
    assert response.status_code == 200, report
    assert report["days"] == 3 and report["stored"] == 4 + 4 + 3  # JPY -1 refused on the third day
    reasons = {line["line"]: line["reason"] for line in report["refused"]}
    assert "not a date" in reasons[4] and "JPY" in reasons[5]

    with tenant_session(tenant_a.ref) as session:
        rates = currencies.converter(session)
        assert rates.rates["USD"].rate == (Decimal(1) / Decimal("1.05")).quantize(currencies.RATE_PLACES)
        assert rates.rates["USD"].source == currencies.REFERENCE_SOURCE
        assert "RUB" not in rates.rates  # N/A: no rate, not zero

    # With the US dollar as base, the rates are crossed through the euro on each day.
    client.put("/api/v1/currency-settings", json={"base_currency": "USD"}, headers=admin)
    client.post(
        "/api/v1/exchange-rates/reference-file",
        data={"file": (io.BytesIO(ECB_FILE.encode()), "eurofxref-hist.csv")},
        headers=admin,
    )
    with tenant_session(tenant_a.ref) as session:
        rates = currencies.converter(session)
        assert rates.rates["EUR"].rate == Decimal("1.05")
        assert rates.rates["GBP"].rate == (Decimal("1.05") / Decimal("0.84")).quantize(currencies.RATE_PLACES)


def test_a_file_that_is_not_a_reference_rate_file_is_refused_before_anything_is_stored(client, admin):
    for content in (b"name,email\nAda,ada@example.com\n", b"\xff\xfe\x00garbage", b""):
        response = client.post(
            "/api/v1/exchange-rates/reference-file",
            data={"file": (io.BytesIO(content), "rates.csv")},
            headers=admin,
        )
        assert response.status_code == 422, response.get_json()
        assert response.content_type == "application/problem+json"
    assert client.get("/api/v1/exchange-rates", headers=admin).get_json()["data"] == []


def test_members_read_rates_but_only_owners_and_admins_change_them(client, admin, tenant_a):
    rate = _rate(client, admin, "USD", "0.9", TODAY)
    member = _member_headers(tenant_a)
    assert len(client.get("/api/v1/exchange-rates", headers=member).get_json()["data"]) == 1
    gbp = {"currency": "GBP", "rate": "1.2", "valid_on": str(TODAY)}
    assert client.post("/api/v1/exchange-rates", json=gbp, headers=member).status_code == 403
    assert client.delete(f"/api/v1/exchange-rates/{rate['id']}", headers=member).status_code == 403
    assert (
        client.put("/api/v1/currency-settings", json={"base_currency": "USD"}, headers=member).status_code
        == 403
    )
    assert client.get("/api/v1/currency-settings", headers=admin).get_json() == {"base_currency": "EUR"}


def test_changes_are_in_the_audit_log(client, admin, tenant_a):
    rate = _rate(client, admin, "USD", "0.9", TODAY)
    client.delete(f"/api/v1/exchange-rates/{rate['id']}", headers=admin)
    client.put("/api/v1/currency-settings", json={"base_currency": "CHF"}, headers=admin)
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action.like("core.%")
        )
    ).all()
    assert {"core.exchange_rate.set", "core.exchange_rate.deleted", "core.currency.base_changed"} <= set(
        actions
    )


def test_tenant_b_cannot_read_or_change_tenant_a_rates_or_base_currency(client, admin, tenant_b):
    rate = _rate(client, admin, "USD", "0.9", TODAY)
    other = bearer(make_token(tenant_b))
    assert client.get("/api/v1/exchange-rates", headers=other).get_json()["data"] == []
    assert client.delete(f"/api/v1/exchange-rates/{rate['id']}", headers=other).status_code == 404
    client.put("/api/v1/currency-settings", json={"base_currency": "JPY"}, headers=other)
    assert client.get("/api/v1/currency-settings", headers=admin).get_json() == {"base_currency": "EUR"}
    assert [r["id"] for r in client.get("/api/v1/exchange-rates", headers=admin).get_json()["data"]] == [
        rate["id"]
    ]


def test_the_settings_page_sets_a_rate_explains_a_bad_one_and_the_dashboard_shows_the_base_total(
    client, admin, tenant_a
):
    _deal(client, admin, "Shanghai", "1000", "CNY")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/settings/currencies")
    assert page.status_code == 200
    token = csrf_token_from(page.text)

    refused = client.post(
        f"/t/{tenant_a.slug}/settings/currencies/rates",
        data={"currency": "CNY", "rate": "abc", "valid_on": str(TODAY), "csrf_token": token},
    )
    assert refused.status_code == 422 and "A rate is a positive number" in refused.text
    assert 'value="abc"' in refused.text  # what was typed stays in the form

    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    assert "no rate for CNY, left out" in dashboard

    saved = client.post(
        f"/t/{tenant_a.slug}/settings/currencies/rates",
        data={"currency": "cny", "rate": "0,125", "valid_on": str(TODAY), "csrf_token": token},
    )
    assert saved.status_code == 302
    assert "1 CNY = 0.125 EUR" in client.get(f"/t/{tenant_a.slug}/settings/currencies").text
    dashboard = client.get(f"/t/{tenant_a.slug}/").text
    assert "1,000.00 CNY, in all 125.00 EUR (1 CNY = 0.125 EUR of" in dashboard
    assert "Forecast, all currencies in EUR" in dashboard
