"""With the sales module switched off, its deal pages and API answer 404 saying so, its nav entries go,
the contact timeline (core) still works, and every deal is back when the module is switched on again."""

from __future__ import annotations

from decimal import Decimal

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.sfa.deals import deals
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, login, make_token

PAGES = ("/deals", "/pipeline", "/forecast", "/tasks", "/settings/pipelines")
API = ("/api/v1/deals", "/api/v1/pipelines", "/api/v1/tasks", "/api/v1/activities", "/api/v1/forecast")


def _switch(fixture, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, "sfa", enabled, actor="test")
    db.session.commit()


def test_switched_off_sales_hides_deals_and_keeps_them(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        account = services.accounts.create(session, {"name": "Initech"})
        deal = deals.create(
            session, {"name": "Kept deal", "amount": Decimal("12.34"), "account_id": account.id}
        )
        deal_id, account_id = deal.id, account.id
    headers = bearer(make_token(tenant_a))
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    assert f'href="/t/{tenant_a.slug}/deals"' in client.get(f"{base}/").text

    _switch(tenant_a, False)
    for path in (*PAGES, f"/deals/{deal_id}"):
        page = client.get(f"{base}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
        assert "nothing was deleted" in page.text and "mistyped" not in page.text, path
    # Any other 404 keeps the usual line.
    assert "mistyped" in client.get(f"{base}/no-such-page").text
    for url in (*API, f"/api/v1/deals/{deal_id}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url
        assert response.get_json()["title"] == "Module switched off"
        assert "Sales module is switched off" in response.get_json()["detail"]
    moved = client.post(f"/api/v1/deals/{deal_id}/move", json={"stage_id": str(deal_id)}, headers=headers)
    assert moved.status_code == 404
    dashboard = client.get(f"{base}/").text
    for label in ("Deals", "Pipeline", "Forecast", "Tasks"):
        assert f">{label}</a>" not in dashboard
    # Core stays on: the account page and its timeline, which keeps the deal's history.
    account_page = client.get(f"{base}/accounts/{account_id}")
    assert account_page.status_code == 200 and "Deal opened: Kept deal" in account_page.text

    _switch(tenant_a, True)
    again = client.get(f"/api/v1/deals/{deal_id}", headers=headers)
    assert again.status_code == 200
    assert (again.get_json()["name"], again.get_json()["amount"]) == ("Kept deal", "12.34")
    assert "Kept deal" in client.get(f"{base}/pipeline").text
    assert ">Deals</a>" in client.get(f"{base}/").text
