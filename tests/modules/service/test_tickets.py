"""Tickets through the API: defaults, auto-assignment, replies mailed with a signed reference, internal
notes kept internal, history and the requester's timeline, views, SLA pause on pending customer, the
ticket.created webhook, and bad input refused without a partial write."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.embedded import free_loopback_port
from saas.jobs import make_worker
from saas.modules.core.models import Activity
from saas.modules.service.email import referenced_ticket_id, send_pending_replies, tenant_address
from saas.modules.service.models import Ticket
from tests.conftest import PASSWORD, bearer, make_token
from tests.modules.service.conftest import add_contact


def _members(fixture, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
        ids.append(
            str(add_member(db.session, fixture.tenant.id, email, PASSWORD, "member", actor="test").user_id)
        )
    db.session.commit()
    return ids


def test_a_new_ticket_gets_the_default_queue_sla_due_times_history_and_timeline(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    contact = add_contact(tenant_a, first_name="Ada", email="ada@example.com")
    response = client.post(
        "/api/v1/tickets",
        json={
            "subject": "Cannot log in",
            "requester_contact_id": contact,
            "tags": ["Login", "login", " vip "],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert (ticket["status"], ticket["priority"], ticket["channel"]) == ("new", "normal", "api")
    assert ticket["tags"] == ["login", "vip"]
    assert ticket["queue_id"] and ticket["first_response_due_at"] and ticket["resolution_due_at"]
    history = client.get(f"/api/v1/tickets/{ticket['id']}/history", headers=headers).get_json()["data"]
    assert [event["action"] for event in history] == ["created"]
    timeline = client.get(f"/api/v1/activities?contact_id={contact}", headers=headers).get_json()["data"]
    assert "Ticket opened: Cannot log in" in [entry["subject"] for entry in timeline]


def test_round_robin_and_least_loaded_queues_spread_tickets_over_members(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    members = sorted(_members(tenant_a, 3))
    queue = client.post(
        "/api/v1/queues",
        json={"name": "Billing", "strategy": "round_robin", "member_ids": members},
        headers=headers,
    ).get_json()
    got = [
        client.post(
            "/api/v1/tickets", json={"subject": f"t{i}", "queue_id": queue["id"]}, headers=headers
        ).get_json()["assignee_user_id"]
        for i in range(4)
    ]
    assert got == [members[0], members[1], members[2], members[0]]

    client.patch(f"/api/v1/queues/{queue['id']}", json={"strategy": "least_loaded"}, headers=headers)
    # members[0] now holds 2 open tickets, the others 1: the next ones go to the least loaded.
    nxt = client.post(
        "/api/v1/tickets", json={"subject": "n", "queue_id": queue["id"]}, headers=headers
    ).get_json()
    assert nxt["assignee_user_id"] == members[1]
    nxt = client.post(
        "/api/v1/tickets", json={"subject": "n", "queue_id": queue["id"]}, headers=headers
    ).get_json()
    assert nxt["assignee_user_id"] == members[2]


def test_a_public_reply_is_mailed_with_a_signed_reference_and_a_note_is_not(client, tenant_a, mail_sink):
    headers = bearer(make_token(tenant_a))
    contact = add_contact(tenant_a, first_name="Bo", email="bo@example.com")
    ticket = client.post(
        "/api/v1/tickets", json={"subject": "Broken", "requester_contact_id": contact}, headers=headers
    ).get_json()
    note = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Customer is grumpy", "kind": "note"},
        headers=headers,
    )
    assert note.status_code == 201
    reply = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Try turning it off and on.", "status": "pending_customer"},
        headers=headers,
    )
    assert reply.status_code == 201, reply.get_json()
    make_worker().work(burst=True)
    [mailed] = mail_sink.to("bo@example.com")
    assert mailed["Reply-To"] == tenant_address(tenant_a.slug)  # answers go to the workspace's inbox
    assert "Try turning it off and on." in mailed.get_content()
    assert "grumpy" not in mailed.get_content()
    assert str(referenced_ticket_id(tenant_a.tenant.id, mailed["Subject"])) == ticket["id"]
    after = client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).get_json()
    assert after["status"] == "pending_customer" and after["first_responded_at"]
    assert after["resolution_due_at"] is None  # paused while the customer has the ball
    actions = [
        e["action"]
        for e in client.get(f"/api/v1/tickets/{ticket['id']}/history", headers=headers).get_json()["data"]
    ]
    assert actions == ["created", "note.added", "reply.added", "status.changed"]
    reopened = client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"status": "open", "priority": "high"}, headers=headers
    ).get_json()
    assert reopened["resolution_due_at"] is not None
    timeline = client.get(f"/api/v1/activities?contact_id={contact}", headers=headers).get_json()["data"]
    newest = [entry["subject"].removesuffix(": Broken") for entry in timeline][:4]
    assert newest == ["Ticket updated", "Ticket opened", "Ticket pending customer", "Reply on ticket"]


def test_views_mine_unassigned_and_breaching_soon(client, tenant_a):
    headers = bearer(make_token(tenant_a))
    [me] = _owner_ids(tenant_a)
    mine = client.post(
        "/api/v1/tickets", json={"subject": "Mine", "assignee_user_id": me}, headers=headers
    ).get_json()
    loose = client.post("/api/v1/tickets", json={"subject": "Loose"}, headers=headers).get_json()
    urgent = client.post(
        "/api/v1/tickets",
        json={"subject": "Hot", "priority": "urgent", "assignee_user_id": me},
        headers=headers,
    ).get_json()
    with tenant_session(tenant_a.ref) as session:  # make one due within the warning window, whatever the hour
        from datetime import UTC, datetime, timedelta

        session.get(Ticket, uuid.UUID(urgent["id"])).resolution_due_at = datetime.now(UTC) + timedelta(
            minutes=30
        )

    def ids(view: str) -> set[str]:
        return {
            t["id"] for t in client.get(f"/api/v1/tickets?view={view}", headers=headers).get_json()["data"]
        }

    assert ids("mine") == {mine["id"], urgent["id"]}
    assert loose["id"] in ids("unassigned") and mine["id"] not in ids("unassigned")
    assert urgent["id"] in ids("breaching") and loose["id"] not in ids("breaching")
    assert client.get("/api/v1/tickets?view=bogus", headers=headers).status_code == 422


def _owner_ids(fixture) -> list[str]:
    from saas.auth.services import find_user_by_email

    return [str(find_user_by_email(db.session, fixture.email).id)]


def test_bad_input_is_refused_with_a_problem_and_writes_nothing(client, tenant_a, tenant_b):
    headers = bearer(make_token(tenant_a))
    foreign_member = _owner_ids(tenant_b)[0]
    cases = [
        ({"subject": ""}, "subject"),
        ({"subject": "x", "priority": "extreme"}, "priority"),
        ({"subject": "x", "requester_contact_id": str(uuid.uuid4())}, "requester_contact_id"),
        ({"subject": "x", "assignee_user_id": foreign_member}, "assignee_user_id"),
        ({"subject": "x", "queue_id": str(uuid.uuid4())}, "queue_id"),
        ({"subject": "x", "tags": ["a" * 51]}, "tags"),
        ({"subject": "x", "email_message_id": "<forged@x>"}, "email_message_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", body
        assert field in response.get_json()["errors"], (body, response.get_json())
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Ticket.id).limit(1)) is None
        assert session.scalar(select(Activity.id).where(Activity.subject_type == "ticket")) is None
    ticket = client.post("/api/v1/tickets", json={"subject": "ok"}, headers=headers).get_json()
    client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "closed"}, headers=headers)
    again = client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "open"}, headers=headers)
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "x"}, headers=headers
        ).status_code
        == 409
    )


def test_ticket_created_is_announced_to_webhook_subscribers(client, tenant_a):
    from saas.webhooks.models import WebhookDelivery, WebhookSubscription

    with tenant_session(tenant_a.ref) as session:
        session.add(
            WebhookSubscription(url="https://hooks.example/x", events=["ticket.created"], secret="s" * 32)
        )
    headers = bearer(make_token(tenant_a))
    ticket = client.post("/api/v1/tickets", json={"subject": "Hooked"}, headers=headers).get_json()
    with tenant_session(tenant_a.ref) as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
        assert delivery.event == "ticket.created" and delivery.payload["id"] == ticket["id"]


class RefusingSink:
    """An SMTP server that refuses mail to bounce@... for good and keeps the rest."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("bounce@"):
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.recipients += envelope.rcpt_tos
        return "250 OK"


def test_a_reply_the_mail_server_refuses_is_marked_failed_and_does_not_hold_up_others(
    app, tenant_a, monkeypatch
):
    from aiosmtpd.controller import Controller

    from saas.modules.service.models import TicketMessage
    from saas.modules.service.tickets import add_staff_message, tickets

    sink = RefusingSink()
    port = free_loopback_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}?tls=none")
        bad = add_contact(tenant_a, first_name="Bad", email="bounce@example.com")
        good = add_contact(tenant_a, first_name="Good", email="good@example.com")
        with tenant_session(tenant_a.ref) as session:
            for contact in (bad, good):  # the refused one is older, so it is tried first
                ticket = tickets.create(session, {"subject": "x", "requester_contact_id": uuid.UUID(contact)})
                add_staff_message(session, ticket.id, "Hello")
        with tenant_session(tenant_a.ref) as session:
            assert send_pending_replies(session) == 1
        assert sink.recipients == ["good@example.com"]
        with tenant_session(tenant_a.ref) as session:
            assert sorted(session.scalars(select(TicketMessage.mail_status))) == ["failed", "sent"]
    finally:
        controller.stop()
