"""The forecast on a known set of deals: exact figures per month, owner and currency; committed against
best case; lost, undated and out-of-window deals left out; the page's chart and tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.auth.services import add_member, find_user_by_email
from saas.db import db, tenant_session
from saas.modules.sfa import pipelines
from saas.modules.sfa.deals import deals
from saas.modules.sfa.forecast import forecast
from saas.modules.sfa.models import Stage
from tests.conftest import PASSWORD, bearer, login, make_token

# (name, owner, amount, currency, stage, close date); stage probabilities: Prospecting 10, Qualification 25,
# Proposal 50, Negotiation 75, Won 100 (won), Lost 0 (lost).
DEALS = [
    ("d1", "alice", "1000.00", "EUR", "Proposal", date(2031, 1, 15)),
    ("d2", "alice", "333.33", "EUR", "Qualification", date(2031, 1, 31)),
    ("d3", "bob", "2000.00", "EUR", "Negotiation", date(2031, 1, 10)),
    ("d4", "bob", "500.00", "EUR", "Won", date(2031, 2, 1)),
    ("d5", "alice", "700.00", "EUR", "Lost", date(2031, 2, 2)),  # lost: nowhere
    ("d6", "alice", "999.99", "EUR", "Prospecting", date(2031, 4, 1)),  # after the window
    ("d7", "alice", "100.00", "EUR", "Proposal", None),  # undated
    ("d8", "alice", "42.00", "EUR", "Proposal", date(2030, 12, 31)),  # before the window
    ("u1", "alice", "1234.56", "USD", "Negotiation", date(2031, 2, 20)),
    ("u2", "alice", "10.01", "USD", "Proposal", date(2031, 3, 3)),
]
WINDOW = {"start": date(2031, 1, 1), "months": 3}


def figures(deals_count, won, weighted, committed, best_case) -> dict:
    return {
        "deals": deals_count,
        "won": Decimal(won),
        "weighted": Decimal(weighted),
        "committed": Decimal(committed),
        "best_case": Decimal(best_case),
    }


ZERO = figures(0, "0.00", "0.00", "0.00", "0.00")


@pytest.fixture
def known_deals(tenant_a):
    """The deals above in tenant A, owned by two members; returns the owners' user ids."""
    owners = {"alice": find_user_by_email(db.session, tenant_a.email).id}
    bob = add_member(
        db.session, tenant_a.tenant.id, f"bob-{tenant_a.slug}@example.com", PASSWORD, "member", actor="t"
    )
    db.session.commit()
    owners["bob"] = bob.user_id
    with tenant_session(tenant_a.ref) as session:
        stages = {stage.name: stage.id for stage in session.scalars(select(Stage))}
        for name, owner, amount, currency, stage, close_date in DEALS:
            data = {"name": name, "owner_user_id": owners[owner], "amount": Decimal(amount),
                    "currency": currency, "stage_id": stages[stage], "close_date": close_date}  # fmt: skip
            deals.create(session, {**data, "lost_reason": "Too dear"} if stage == "Lost" else data)
    return owners


def test_forecast_figures_per_currency_month_and_owner(tenant_a, known_deals):
    with tenant_session(tenant_a.ref) as session:
        result = forecast(session, **WINDOW)
    assert result["months"] == ["2031-01", "2031-02", "2031-03"]
    assert result["undated_deals"] == 1
    eur, usd = result["currencies"]
    assert (eur["currency"], usd["currency"]) == ("EUR", "USD")

    # EUR: weighted = 500 (d4 won) + 1000 * 50% + 333.33 * 25% + 2000 * 75% = 2583.3325 -> 2583.33;
    # committed (>= 75%) = 500 + 2000; best case = 500 + 1000 + 333.33 + 2000.
    assert eur["totals"] == figures(4, "500.00", "2583.33", "2500.00", "3833.33")
    assert [row.pop("month") for row in eur["by_month"]] == result["months"]
    assert eur["by_month"] == [
        figures(3, "0.00", "2083.33", "2000.00", "3333.33"),
        figures(1, "500.00", "500.00", "500.00", "500.00"),
        ZERO,
    ]
    by_owner = {row.pop("owner_user_id"): row for row in eur["by_owner"]}
    assert by_owner == {
        known_deals["alice"]: figures(2, "0.00", "583.33", "0.00", "1333.33"),
        known_deals["bob"]: figures(2, "500.00", "2000.00", "2500.00", "2500.00"),
    }
    cells = {(row.pop("month"), row.pop("owner_user_id")): row for row in eur["cells"]}
    assert cells == {
        ("2031-01", known_deals["alice"]): figures(2, "0.00", "583.33", "0.00", "1333.33"),
        ("2031-01", known_deals["bob"]): figures(1, "0.00", "1500.00", "2000.00", "2000.00"),
        ("2031-02", known_deals["bob"]): figures(1, "500.00", "500.00", "500.00", "500.00"),
    }

    # USD is never added to EUR. 1234.56 * 75% = 925.92; 10.01 * 50% = 5.005 -> 5.01 (half up).
    assert usd["totals"] == figures(2, "0.00", "930.93", "1234.56", "1244.57")
    assert [row["weighted"] for row in usd["by_month"]] == [
        Decimal("0.00"),
        Decimal("925.92"),
        Decimal("5.01"),
    ]


def test_commit_threshold_owner_and_pipeline_narrow_the_forecast(tenant_a, known_deals):
    with tenant_session(tenant_a.ref) as session:
        eur = forecast(session, **WINDOW, threshold=50)["currencies"][0]
        assert eur["totals"]["committed"] == Decimal("3500.00")  # d1 at 50% now counts
        bob_only = forecast(session, **WINDOW, owner_user_id=known_deals["bob"])
        assert [c["currency"] for c in bob_only["currencies"]] == ["EUR"]
        assert bob_only["currencies"][0]["totals"] == figures(2, "500.00", "2000.00", "2500.00", "2500.00")
        other = pipelines.create_pipeline(session, {"name": "Other"})
        deals.create(session, {"name": "elsewhere", "amount": Decimal("1.00"), "pipeline_id": other.id,
                               "close_date": date(2031, 1, 2)})  # fmt: skip
        only_other = forecast(session, **WINDOW, pipeline_id=other.id)["currencies"]
        assert [(c["currency"], c["totals"]["best_case"]) for c in only_other] == [("EUR", Decimal("1.00"))]


def test_forecast_api_returns_decimal_strings(client, tenant_a, known_deals):
    response = client.get(
        "/api/v1/forecast?start=2031-01&months=3&threshold=75", headers=bearer(make_token(tenant_a))
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    eur = body["currencies"][0]
    assert eur["totals"] == {
        "deals": 4, "won": "500.00", "weighted": "2583.33", "committed": "2500.00", "best_case": "3833.33"
    }  # fmt: skip
    assert eur["by_month"][0]["month"] == "2031-01" and body["undated_deals"] == 1


def test_bad_forecast_query_gets_a_problem(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    cases = [
        ("start=2031-13", "start"), ("start=soon", "start"), ("months=0", "months"), ("months=25", "months"),
        ("threshold=101", "threshold"), ("pipeline_id=x", "pipeline_id"),
    ]  # fmt: skip
    for query, field in cases:
        response = client.get(f"/api/v1/forecast?{query}", headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"], query


def test_forecast_page_draws_a_chart_and_tables(client, tenant_a, known_deals):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/forecast?start=2031-01&months=3")
    assert page.status_code == 200
    assert page.text.count('<svg role="img"') == 2  # one chart per currency (not the bell's icon)
    assert page.text.count('class="bar weighted"') == 6  # 3 months x 2 currencies
    assert "2,583.33" in page.text and "3,833.33" in page.text and "930.93" in page.text
    assert "<caption>By month</caption>" in page.text and "<caption>By owner</caption>" in page.text
    assert f"bob-{tenant_a.slug}@example.com" in page.text
    bad = client.get(f"/t/{tenant_a.slug}/forecast?months=99")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
