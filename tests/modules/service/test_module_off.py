"""With the service module switched off, its pages, API, portal and inbound mail answer 404 saying so,
its nav entries go, its jobs skip the tenant, and every ticket is back when it is switched on again."""

from __future__ import annotations

from saas.db import db
from saas.modules.service.email import inbound_secret, tenant_address
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, login, make_token
from tests.modules.service.conftest import add_contact, add_ticket, raw_mail

PAGES = ("/tickets", "/tickets/new", "/service", "/kb", "/kb/new", "/settings/service")
API = ("/api/v1/tickets", "/api/v1/queues", "/api/v1/kb/articles", "/api/v1/service/sla-policies",
       "/api/v1/service/calendar")  # fmt: skip


def _switch(fixture, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, "service", enabled, actor="test")
    db.session.commit()


def test_switched_off_service_hides_everything_and_keeps_the_tickets(client, tenant_a):
    contact = add_contact(tenant_a, first_name="Kept", email="kept@example.com")
    ticket_id = add_ticket(tenant_a, subject="Kept ticket", requester_contact_id=contact)
    headers = bearer(make_token(tenant_a))
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    assert f'href="{base}/tickets"' in client.get(f"{base}/").text

    _switch(tenant_a, False)
    for path in (*PAGES, f"/tickets/{ticket_id}"):
        page = client.get(f"{base}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
    for url in (*API, f"/api/v1/tickets/{ticket_id}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.get_json()["title"] == "Module switched off", url
    for path in ("/", "/tickets", f"/tickets/{ticket_id}", "/kb"):
        page = client.get(f"/portal/{tenant_a.slug}{path}")
        assert page.status_code == 404 and "switched off" in page.text, path
    mail = client.post(
        f"/api/v1/service/inbound-mail/{tenant_a.slug}",
        data=raw_mail("kept@example.com", tenant_address(tenant_a.slug), "Hello?", "x"),
        headers={"Authorization": f"Bearer {inbound_secret(tenant_a.tenant.id)}"},
    )
    assert mail.status_code == 404
    assert ">Tickets</a>" not in client.get(f"{base}/").text

    _switch(tenant_a, True)
    again = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    assert again.status_code == 200 and again.get_json()["subject"] == "Kept ticket"
    assert "Kept ticket" in client.get(f"{base}/tickets").text
