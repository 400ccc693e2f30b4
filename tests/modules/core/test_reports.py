"""Reports: counts, sums and averages grouped by one or two fields (custom fields too) on a known fixture,
as JSON, CSV and a page with a chart; bad reports get 422; each tenant reports on its own records only."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from saas.db import db, tenant_session
from saas.modules.core import currencies, custom_fields
from saas.modules.sfa.deals import deals
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, login, make_token

DEALS = [  # name, amount, currency, tier (custom)
    ("a", "100.00", "EUR", "gold"),
    ("b", "250.50", "EUR", "gold"),
    ("c", "49.50", "EUR", "silver"),
    ("d", "1000.00", "USD", "gold"),
    ("e", "0.00", "USD", None),
]
USD_IN_EUR = Decimal("0.9")  # the workspace's rate: sums of amounts are in its base currency, EUR


@pytest.fixture
def fixture_deals(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        tier = {"key": "tier", "label": "Tier", "field_type": "single_select", "options": ["gold", "silver"]}
        custom_fields.define_field(session, "deals", tier)
        currencies.set_rate(session, "USD", USD_IN_EUR, date(2026, 1, 1), actor_user_id=None)
        for name, amount, currency, level in DEALS:
            deal = deals.create(session, {"name": name, "amount": Decimal(amount), "currency": currency})
            custom_fields.write_values(session, "deals", deal.id, {"tier": level}, creating=False)
    db.session.commit()


def _rows(client, headers, query):
    response = client.get(f"/api/v1/reports?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(r["group"], r["then"], r["value"]) for r in response.get_json()["rows"]]


def test_report_arithmetic_on_a_known_fixture(client, tenant_a, fixture_deals):
    headers = bearer(make_token(tenant_a))
    assert _rows(client, headers, "entity=deals&group_by=currency") == [
        ("EUR", None, "3"),
        ("USD", None, "2"),
    ]
    # Amounts in EUR, the base currency: 1000 USD is 900 EUR at the workspace's rate.
    assert _rows(client, headers, "entity=deals&group_by=currency&measure=sum&field=amount") == [
        ("USD", None, "900.00"), ("EUR", None, "400.00")
    ]  # fmt: skip
    assert _rows(client, headers, "entity=deals&group_by=currency&measure=avg&field=amount") == [
        ("USD", None, "450.00"), ("EUR", None, "133.33")
    ]  # fmt: skip
    by_tier = "entity=deals&group_by=cf_tier&then_by=currency&measure=sum&field=amount"
    assert _rows(client, headers, by_tier) == [
        ("gold", "USD", "900.00"), ("gold", "EUR", "350.50"), ("silver", "EUR", "49.50"),
        (None, "USD", "0.00"),
    ]  # fmt: skip
    assert _rows(client, headers, "entity=deals&group_by=cf_tier&measure=sum&field=amount") == [
        ("gold", None, "1250.50"), ("silver", None, "49.50"), (None, None, "0.00")
    ]  # fmt: skip
    download = client.get("/api/v1/reports.csv?entity=deals&group_by=cf_tier&measure=count", headers=headers)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(download.text))) == [
        ["cf_tier", "count"], ["gold", "3"], ["silver", "1"], ["", "1"]
    ]  # fmt: skip


def test_money_in_a_currency_without_a_rate_is_left_out_and_the_report_says_so(
    client, tenant_a, fixture_deals
):
    with tenant_session(tenant_a.ref) as session:
        deals.create(session, {"name": "f", "amount": Decimal("70.00"), "currency": "GBP"})
    headers = bearer(make_token(tenant_a))

    response = client.get(
        "/api/v1/reports?entity=deals&group_by=cf_tier&measure=sum&field=amount", headers=headers
    )

    body = response.get_json()
    assert [(r["group"], r["value"]) for r in body["rows"]] == [
        ("gold", "1250.50"),
        ("silver", "49.50"),
        (None, "0.00"),
    ]
    conversion = body["conversion"]
    assert conversion["base_currency"] == "EUR" and conversion["not_converted"] == ["GBP"]
    assert [(r["currency"], r["rate"]) for r in conversion["rates_used"]] == [("USD", "0.9000000000")]
    count = client.get("/api/v1/reports?entity=deals&group_by=currency", headers=headers).get_json()
    assert "conversion" not in count and ("GBP", "1") in [(r["group"], r["value"]) for r in count["rows"]]

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/reports?entity=deals&group_by=cf_tier&measure=sum&field=amount")
    assert "no rate for GBP, left out" in page.text


def test_bad_reports_get_422_and_other_tenants_see_only_their_records(
    client, tenant_a, tenant_b, fixture_deals
):
    headers = bearer(make_token(tenant_a))
    for query in (
        "entity=deals&group_by=nope",
        "entity=deals&group_by=currency&measure=sum",
        "entity=deals&group_by=currency&measure=sum&field=name",
        "entity=deals&group_by=currency&measure=median",
        "entity=secrets&group_by=id",
        "entity=deals&group_by=currency;drop table deals",
        "group_by=currency",
    ):
        response = client.get(f"/api/v1/reports?{query}", headers=headers)
        assert response.status_code == 422, (query, response.get_json())
    b_headers = bearer(make_token(tenant_b))
    assert _rows(client, b_headers, "entity=deals&group_by=currency") == []
    assert client.get("/api/v1/reports?entity=deals&group_by=cf_tier", headers=b_headers).status_code == 422
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    off = client.get("/api/v1/reports?entity=deals&group_by=currency", headers=headers)
    assert off.status_code == 404 and off.get_json()["title"] == "Module switched off"


def test_report_page_shows_a_chart_a_table_and_a_csv_link(client, tenant_a, tenant_b, fixture_deals):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/reports"
    page = client.get(f"{base}?entity=deals&group_by=currency&measure=sum&field=amount")
    assert page.status_code == 200
    assert "<svg" in page.text and "900.00" in page.text and "reports.csv?" in page.text
    assert "Amounts in EUR (1 USD = 0.9 EUR of" in page.text
    assert client.get(f"{base}?entity=deals&group_by=nope").status_code == 422
    csv_page = client.get(f"{base}.csv?entity=deals&group_by=currency")
    assert csv_page.status_code == 200 and "EUR,3" in csv_page.text
    assert client.get(f"/t/{tenant_b.slug}/reports?entity=deals&group_by=currency").status_code == 404


@pytest.fixture
def staged_deals(tenant_a):
    """Two deals in Proposal and one in Won, owned by the workspace's owner, for Initech or nobody."""
    from saas.auth.services import find_user_by_email
    from saas.modules.core import services
    from saas.modules.sfa.pipelines import default_pipeline

    owner_id = find_user_by_email(db.session, tenant_a.email).id
    with tenant_session(tenant_a.ref) as session:
        stages = {stage.name: stage.id for stage in default_pipeline(session).stages}
        account = services.accounts.create(session, {"name": "Initech"})
        for name, stage, account_id in (
            ("p1", "Proposal", account.id),
            ("p2", "Proposal", None),
            ("w", "Won", None),
        ):
            deals.create(
                session,
                {"name": name, "amount": Decimal("1"), "stage_id": stages[stage], "owner_user_id": owner_id,
                 "account_id": account_id},
            )  # fmt: skip
    db.session.commit()
    return {"stages": stages, "owner_id": owner_id, "account_id": account.id}


def test_report_groups_show_stage_owner_and_account_names_and_the_api_keeps_the_ids(
    client, tenant_a, staged_deals
):
    headers = bearer(make_token(tenant_a))
    response = client.get(
        "/api/v1/reports?entity=deals&group_by=stage_id&then_by=account_id", headers=headers
    )
    assert response.status_code == 200, response.get_json()
    proposal, won = str(staged_deals["stages"]["Proposal"]), str(staged_deals["stages"]["Won"])
    rows = {(r["group"], r["group_label"], r["then_label"], r["value"]) for r in response.get_json()["rows"]}
    assert rows == {
        (proposal, "Proposal", "Initech", "1"), (proposal, "Proposal", None, "1"), (won, "Won", None, "1"),
    }  # fmt: skip
    by_owner = client.get("/api/v1/reports?entity=deals&group_by=owner_user_id", headers=headers).get_json()
    assert by_owner["rows"] == [
        {"group": str(staged_deals["owner_id"]), "group_label": tenant_a.email, "then": None,
         "then_label": None, "value": "3"}
    ]  # fmt: skip

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/reports?entity=deals&group_by=stage_id").text
    assert "<td>Proposal</td>" in page and "<td>Won</td>" in page  # the report's table
    assert '<th scope="row">Proposal</th>' in page  # the chart's own table
    assert proposal not in page and won not in page
    download = client.get(f"/t/{tenant_a.slug}/reports.csv?entity=deals&group_by=stage_id")
    assert list(csv.reader(io.StringIO(download.text))) == [
        ["stage_id", "count"],
        ["Proposal", "2"],
        ["Won", "1"],
    ]


def test_a_report_filter_on_a_stage_shows_the_stage_name_and_columns_read_as_fields(
    client, tenant_a, staged_deals
):
    login(client, tenant_a.email, tenant_a.password)
    proposal = staged_deals["stages"]["Proposal"]
    page = client.get(f"/t/{tenant_a.slug}/reports?entity=deals&group_by=owner_user_id&f_stage_id={proposal}")
    assert page.status_code == 200
    assert f'value="{proposal}" maxlength="200" aria-describedby="r-fl-0"' in page.text
    assert '<span class="muted" id="r-fl-0">Proposal</span>' in page.text
    assert "Count of Deals by Owner" in page.text and '<th scope="col">Owner</th>' in page.text
    assert f"<td>{tenant_a.email}</td>" in page.text
