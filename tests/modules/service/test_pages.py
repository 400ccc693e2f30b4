"""Staff pages of the service module: tickets opened, answered and solved through forms (errors shown
on the form, nothing written), the dashboard's SLA figures, the knowledge base editor, service settings
for owners and admins only (audited), the global search and the dashboard card."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from saas.audit import AuditEntry
from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.service.models import ServiceHoliday, SlaPolicy, Ticket
from tests.conftest import PASSWORD, csrf_token_from, login


def _token(client, url: str) -> str:
    return csrf_token_from(client.get(url).text)


def test_a_ticket_is_opened_answered_and_solved_through_the_pages(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base}/tickets/new")
    bad = client.post(f"{base}/tickets/new", data={"csrf_token": token, "subject": "", "priority": "normal"})
    assert bad.status_code == 422 and "Please correct" in bad.text
    bad_email = client.post(
        f"{base}/tickets/new", data={"csrf_token": token, "subject": "x", "requester_email": "not-an-email"}
    )
    assert bad_email.status_code == 422 and "valid email" in bad_email.text
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Ticket.id)) is None
    created = client.post(
        f"{base}/tickets/new",
        data={"csrf_token": token, "subject": "Phone call: VPN down", "priority": "high", "channel": "phone",
              "requester_email": "zed@example.com", "tags": "vpn, network"},
    )  # fmt: skip
    assert created.status_code == 302
    detail_url = created.headers["Location"]
    page = client.get(detail_url)
    assert page.status_code == 200 and "Phone call: VPN down" in page.text and "zed" in page.text
    ticket_path = detail_url.split(base)[1]
    empty = client.post(
        f"{base}{ticket_path}/messages", data={"csrf_token": token, "body": "", "kind": "public"}
    )
    assert empty.status_code == 422
    client.post(
        f"{base}{ticket_path}/messages", data={"csrf_token": token, "body": "Rebooting it", "kind": "public"}
    )
    client.post(
        f"{base}{ticket_path}/edit",
        data={"csrf_token": token, "subject": "Phone call: VPN down", "status": "solved", "priority": "high",
              "queue_id": "", "assignee_user_id": "", "tags": "vpn"},
    )  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        ticket = session.scalar(select(Ticket))
        contact = session.get(Contact, ticket.requester_contact_id)
        assert (ticket.status, ticket.priority, ticket.channel, ticket.tags) == (
            "solved",
            "high",
            "phone",
            ["vpn"],
        )
        assert contact.email == "zed@example.com" and ticket.first_responded_at is not None
    dashboard = client.get(f"{base}/service")
    assert dashboard.status_code == 200
    assert "100.0%</strong> first responses on time (1 of 1)" in dashboard.text
    assert "100.0%</strong> resolved on time (1 of 1)" in dashboard.text
    assert "<svg" in dashboard.text
    listing = client.get(f"{base}/tickets?status=solved")
    assert "Phone call: VPN down" in listing.text
    assert client.get(f"{base}/tickets?status=bogus").status_code == 422
    found = client.get(f"{base}/search?q=VPN")
    assert found.status_code == 200 and "Phone call: VPN down" in found.text
    assert "Tickets and SLA" in client.get(f"{base}/").text


def test_knowledge_base_articles_are_written_searched_and_guarded(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base}/kb/new")
    assert (
        client.post(f"{base}/kb/new", data={"csrf_token": token, "title": "", "body": ""}).status_code == 422
    )
    article = {
        "title": "Configure the VPN client",
        "body": "Open settings, add the profile.",
        "status": "published",
    }
    saved = client.post(f"{base}/kb/new", data={"csrf_token": token, **article})
    assert saved.status_code == 302
    article_url = saved.headers["Location"]
    assert "Configure the VPN client" in client.get(f"{base}/kb?q=vpn+profile").text
    assert "Configure the VPN client" not in client.get(f"{base}/kb?q=printer").text
    deleted = client.post(f"{article_url}/delete", data={"csrf_token": token})
    assert deleted.status_code == 409  # published: unpublish first


def test_service_settings_are_for_owners_and_admins_and_audited(client, tenant_a):
    member_email = "agent@example.com"
    add_member(db.session, tenant_a.tenant.id, member_email, PASSWORD, "member", actor="test")
    db.session.commit()
    base = f"/t/{tenant_a.slug}"
    login(client, member_email, PASSWORD)
    assert client.get(f"{base}/settings/service").status_code == 403
    token = _token(client, f"{base}/tickets")
    assert (
        client.post(
            f"{base}/settings/service/holidays", data={"csrf_token": token, "day": "2026-12-24"}
        ).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": token})

    login(client, tenant_a.email, tenant_a.password)
    token = _token(client, f"{base}/settings/service")

    def post(path: str, **data):
        return client.post(f"{base}/settings/service{path}", data={"csrf_token": token, **data})

    assert post("/holidays", day="2026-12-24", name="Eve").status_code == 302
    bad = post("/calendar", timezone="Mars/Olympus", work_days=["1"], start="09:00", end="17:00")
    assert bad.status_code == 422 and "Unknown time zone" in bad.text
    targets = {
        f"{p}_{k}": v
        for p in ("low", "normal", "high", "urgent")
        for k, v in (("first", "30"), ("resolution", "600"))
    }
    assert post("/policies", **targets).status_code == 302
    assert post("/queues", name="Tier 2", strategy="least_loaded").status_code == 302
    with tenant_session(tenant_a.ref) as session:
        assert session.get(ServiceHoliday, date(2026, 12, 24)).name == "Eve"
        assert session.get(SlaPolicy, "urgent").first_response_minutes == 30
    actions = set(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant_a.tenant.id))
    )
    assert {"service.holiday.added", "service.sla_policy.set", "service.queue.created"} <= actions
    assert "service.calendar.updated" not in actions  # the refused change is not in the log
