"""The customer hub's tickets and help articles (once the portal /portal/<slug>/): sign-in by a mailed
single-use link, own tickets only (another
contact's ticket or another tenant's is a 404), replies, new tickets with article suggestions, the
public knowledge base (published articles only), CSAT on solved tickets, and rate limits."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.privacy.links import make_link_token
from saas.modules.service import kb
from saas.modules.service.models import Ticket
from saas.modules.service.tickets import tickets
from tests.conftest import csrf_token_from
from tests.modules.service.conftest import add_contact, add_ticket, portal_link, sign_in_to_portal


def _article(fixture, title: str, body: str, status: str = "published") -> str:
    with tenant_session(fixture.ref) as session:
        return str(kb.create_article(session, {"title": title, "body": body, "status": status}).id)


def test_a_customer_sees_replies_to_and_opens_only_their_own_tickets(client, tenant_a, mail_sink):
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    ben = add_contact(tenant_a, first_name="Ben", email="ben@example.com")
    own = add_ticket(tenant_a, subject="Ann's printer", requester_contact_id=ann)
    other = add_ticket(tenant_a, subject="Ben's secret", requester_contact_id=ben)
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")
    base = f"/hub/{tenant_a.slug}"

    listing = client.get(f"{base}/home").text
    assert "Ann&#39;s printer" in listing and "Ben" not in listing
    assert client.get(f"{base}/tickets/{own}").status_code == 200
    for path in (f"/tickets/{other}", f"/tickets/{uuid.uuid4()}"):
        response = client.get(f"{base}{path}")
        assert response.status_code == 404 and "secret" not in response.text
    token = csrf_token_from(client.get(f"{base}/tickets/{own}").text)
    for path, data in (
        (f"/tickets/{other}/reply", {"body": "hijack"}),
        (f"/tickets/{other}/rate", {"rating": "1"}),
    ):
        assert client.post(f"{base}{path}", data={"csrf_token": token, **data}).status_code == 404

    replied = client.post(f"{base}/tickets/{own}/reply", data={"csrf_token": token, "body": "Any news?"})
    assert replied.status_code == 302
    page = client.get(f"{base}/tickets/new")
    created = client.post(
        f"{base}/tickets/new",
        data={"csrf_token": csrf_token_from(page.text), "subject": "New one", "description": "It broke"},
    )
    assert created.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        mine = session.scalars(select(Ticket).where(Ticket.requester_contact_id == uuid.UUID(ann))).all()
        assert sorted(t.subject for t in mine) == ["Ann's printer", "New one"]
        assert {t.channel for t in mine if t.subject == "New one"} == {"portal"}
        assert [m.body for m in session.get(Ticket, uuid.UUID(own)).messages] == ["Any news?"]
        assert [m.body for m in session.get(Ticket, uuid.UUID(other)).messages] == []


def test_internal_notes_never_reach_the_portal(client, tenant_a, mail_sink):
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    own = add_ticket(tenant_a, subject="Noted", requester_contact_id=ann)
    from saas.modules.service.tickets import add_staff_message

    with tenant_session(tenant_a.ref) as session:
        add_staff_message(session, uuid.UUID(own), "between us: refund denied", kind="note")
        add_staff_message(session, uuid.UUID(own), "We are on it")
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")
    page = client.get(f"/hub/{tenant_a.slug}/tickets/{own}").text
    assert "We are on it" in page and "refund denied" not in page


def test_another_tenants_session_and_links_do_not_open_this_hub(client, tenant_a, tenant_b, mail_sink):
    add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    b_contact = add_contact(tenant_b, first_name="Bea", email="bea@example.com")
    a_contact = add_contact(tenant_a, first_name="Bea", email="bea@example.com")  # same person, both tenants
    a_ticket = add_ticket(tenant_a, subject="A's ticket", requester_contact_id=a_contact)
    sign_in_to_portal(client, mail_sink, tenant_b.slug, "bea@example.com")
    # Signed in to B's hub: A's hub does not know this browser, and B's hub has no such ticket.
    assert client.get(f"/hub/{tenant_a.slug}/tickets").status_code == 302
    assert client.get(f"/hub/{tenant_a.slug}/tickets/{a_ticket}").status_code == 302
    assert client.get(f"/hub/{tenant_b.slug}/tickets/{a_ticket}").status_code == 404
    # B's links (the hub's kind, the old portal's kind) and links for another purpose do not open A's hub.
    with client.application.test_request_context():
        b_token = make_link_token(tenant_b.tenant.id, uuid.UUID(b_contact))
        b_portal_token = make_link_token(tenant_b.tenant.id, uuid.UUID(b_contact), salt="service-portal-link")
        confirmation_token = make_link_token(
            tenant_a.tenant.id, uuid.UUID(a_contact), salt="consent-confirmation"
        )
    for token in (b_token, b_portal_token, confirmation_token):
        assert client.get(f"/hub/{tenant_a.slug}/enter/{token}").status_code == 400
        assert client.get(f"/portal/{tenant_a.slug}/enter/{token}").status_code == 400


def test_a_link_opens_the_hub_once(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    page = client.get(f"/hub/{tenant_a.slug}/")
    client.post(
        f"/hub/{tenant_a.slug}/",
        data={"email": "ann@example.com", "csrf_token": csrf_token_from(page.text)},
    )
    token = portal_link(mail_sink, "ann@example.com")
    form = client.get(f"/hub/{tenant_a.slug}/enter/{token}")
    first = client.post(
        f"/hub/{tenant_a.slug}/enter/{token}", data={"csrf_token": csrf_token_from(form.text)}
    )
    assert first.status_code == 302
    again = client.post(
        f"/hub/{tenant_a.slug}/enter/{token}", data={"csrf_token": csrf_token_from(form.text)}
    )
    assert again.status_code == 400 and "used already or it expired" in again.text
    assert "Send me a link" in again.text  # the form that mails a new one is right there


def test_unknown_addresses_get_the_same_answer_and_no_mail(client, tenant_a, mail_sink):
    page = client.get(f"/hub/{tenant_a.slug}/")
    answer = client.post(
        f"/hub/{tenant_a.slug}/",
        data={"email": "ghost@example.com", "csrf_token": csrf_token_from(page.text)},
    )
    assert answer.status_code == 200 and "If this address is known" in answer.text
    make_worker().work(burst=True)
    assert mail_sink.to("ghost@example.com") == []


def test_the_public_knowledge_base_shows_published_articles_and_suggests_them(
    client, tenant_a, tenant_b, mail_sink
):
    published = _article(tenant_a, "Reset your password", "Click 'forgot password' on the sign-in page.")
    draft = _article(tenant_a, "Unreleased password vault", "Secret roadmap", status="draft")
    b_article = _article(tenant_b, "Password tips of B", "B's password article")
    base = f"/hub/{tenant_a.slug}/kb"
    listing = client.get(base).text
    assert "Reset your password" in listing and "Unreleased" not in listing and "of B" not in listing
    found = client.get(f"{base}?q=password").text
    assert "Reset your password" in found and "Unreleased" not in found and "of B" not in found
    assert client.get(f"{base}/{published}").status_code == 200
    assert client.get(f"{base}/{draft}").status_code == 404
    assert client.get(f"{base}/{b_article}").status_code == 404
    suggestions = client.get(f"{base}/suggest?q=I+forgot+my+password+yesterday").text
    assert "Reset your password" in suggestions and "Unreleased" not in suggestions


def test_a_solved_ticket_can_be_rated_and_an_open_one_cannot(client, tenant_a, mail_sink):
    ann = add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    ticket_id = add_ticket(tenant_a, subject="Rate me", requester_contact_id=ann)
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")
    base = f"/hub/{tenant_a.slug}/tickets/{ticket_id}"
    token = csrf_token_from(client.get(base).text)
    client.post(f"{base}/rate", data={"csrf_token": token, "rating": "5"})
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Ticket, uuid.UUID(ticket_id)).csat_rating is None
        tickets.update(session, uuid.UUID(ticket_id), {"status": "solved"})
    client.post(f"{base}/rate", data={"csrf_token": token, "rating": "4", "comment": "Quick, thanks"})
    bad = client.post(f"{base}/rate", data={"csrf_token": token, "rating": "9"})
    assert bad.status_code == 302 and "Rate+from+1+to+5" in bad.headers["Location"]
    with tenant_session(tenant_a.ref) as session:
        ticket = session.get(Ticket, uuid.UUID(ticket_id))
        assert (ticket.csat_rating, ticket.csat_comment) == (4, "Quick, thanks")


def test_link_requests_are_rate_limited(app, client, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "PRIVACY_LINK_RATE_LIMIT", "2 per minute")
    page = client.get(f"/hub/{tenant_a.slug}/")
    data = {"email": "x@example.com", "csrf_token": csrf_token_from(page.text)}
    codes = [client.post(f"/hub/{tenant_a.slug}/", data=data).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
