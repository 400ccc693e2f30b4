"""The widget's public routes /chat/<slug>/: a visitor starts a chat and writes in it with their token,
from another origin (CORS on these routes only); another tenant's chat or token is a 404; off hours the
widget takes a request that becomes a ticket; rate limits per address and per email."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.chat.models import Chat, ChatMessage
from saas.modules.service.models import Ticket
from saas.modules.switches import set_module_enabled
from tests.chat.conftest import always_open, closed_for_now, start_chat, token_header

ORIGIN = "https://shop.customer.example"


def _count(fixture, model) -> int:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_visitor_starts_a_chat_writes_and_reads_it_back_with_their_token(client, tenant_a):
    always_open(tenant_a)
    base = f"/chat/{tenant_a.slug}"
    status = client.get(f"{base}/status").get_json()
    assert status["online"] is True and status["texts"]["start"]
    chat = start_chat(
        client,
        tenant_a.slug,
        "Do you ship to Iceland?",
        name="Ann",
        email="Ann@Example.com",
        page_url="https://shop.customer.example/cart",
    )
    assert chat["status"] == "waiting" and [m["body"] for m in chat["messages"]] == [
        "Do you ship to Iceland?"
    ]
    written = client.post(
        f"{base}/chats/{chat['id']}/messages", json={"body": "Quickly?"}, headers=token_header(chat)
    )
    assert written.status_code == 201
    shown = client.get(f"{base}/chats/{chat['id']}", headers=token_header(chat)).get_json()
    assert [(m["author"], m["body"]) for m in shown["messages"]] == [
        ("visitor", "Do you ship to Iceland?"),
        ("visitor", "Quickly?"),
    ]
    with tenant_session(tenant_a.ref) as session:
        stored = session.get(Chat, uuid.UUID(chat["id"]))
        # The token is the visitor's alone: only its hash is kept; the email found (or made) the contact.
        assert chat["token"] not in stored.token_hash and stored.contact_id is not None
        assert stored.visitor_email == "Ann@example.com"


def test_without_the_token_or_with_a_wrong_one_the_chat_is_not_found(client, tenant_a):
    always_open(tenant_a)
    chat = start_chat(client, tenant_a.slug)
    base = f"/chat/{tenant_a.slug}/chats/{chat['id']}"
    for headers in ({}, {"X-Chat-Token": "guess"}):
        assert client.get(base, headers=headers).status_code == 404
        response = client.post(f"{base}/messages", json={"body": "injected"}, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get(f"{base}/events?token=guess").status_code == 404
    assert _count(tenant_a, ChatMessage) == 1


def test_a_visitor_token_of_tenant_a_cannot_read_or_post_to_tenant_b(client, tenant_a, tenant_b):
    always_open(tenant_a)
    always_open(tenant_b)
    chat = start_chat(client, tenant_a.slug, "for A only")
    through_b = f"/chat/{tenant_b.slug}/chats/{chat['id']}"
    assert client.get(through_b, headers=token_header(chat)).status_code == 404
    posted = client.post(f"{through_b}/messages", json={"body": "to B"}, headers=token_header(chat))
    assert posted.status_code == 404 and "for A only" not in posted.get_data(as_text=True)
    assert client.get(f"{through_b}/events?token={chat['token']}").status_code == 404
    assert _count(tenant_b, ChatMessage) == 0 and _count(tenant_a, ChatMessage) == 1


def test_the_widget_routes_answer_other_origins_and_other_pages_do_not(client, tenant_a):
    always_open(tenant_a)
    script = client.get(f"/chat/{tenant_a.slug}/widget.js", headers={"Origin": ORIGIN})
    assert script.status_code == 200 and "javascript" in script.mimetype
    preflight = client.options(
        f"/chat/{tenant_a.slug}/chats",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-chat-token",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-chat-token" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    refused = client.post(f"/chat/{tenant_a.slug}/chats", json={"body": ""}, headers={"Origin": ORIGIN})
    # Errors too: the widget must be able to read why.
    assert refused.status_code == 422 and refused.headers["Access-Control-Allow-Origin"] == "*"
    # The security headers stay on the widget's answers, and no other page answers other origins.
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/login", f"/t/{tenant_a.slug}/chat", f"/portal/{tenant_a.slug}/", "/api/v1/contacts"):
        response = client.get(path, headers={"Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in response.headers, path


def test_bad_input_is_a_problem_document(client, tenant_a):
    always_open(tenant_a)
    base = f"/chat/{tenant_a.slug}"
    for body in ({"body": "   "}, {"body": "hi", "email": "not an address"}, {"body": "x" * 5001}):
        response = client.post(f"{base}/chats", json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert client.post(f"{base}/chats", data="body=hi").status_code == 400
    assert client.get("/chat/no-such-workspace/status").status_code == 404
    assert _count(tenant_a, Chat) == 0


def test_off_hours_the_widget_takes_a_request_that_becomes_a_ticket(client, tenant_a):
    closed_for_now(tenant_a)
    base = f"/chat/{tenant_a.slug}"
    assert client.get(f"{base}/status").get_json()["online"] is False
    refused = client.post(f"{base}/chats", json={"body": "Anyone there?"})
    assert refused.status_code == 409 and _count(tenant_a, Chat) == 0
    assert client.post(f"{base}/requests", json={"body": "Call me back"}).status_code == 422  # email needed
    left = client.post(
        f"{base}/requests",
        json={"body": "Call me back\nabout my order", "email": "bo@example.com", "name": "Bo"},
    )
    assert left.status_code == 201 and left.get_json() == {"received": True}
    with tenant_session(tenant_a.ref) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.subject == "Chat: Call me back" and ticket.description == "Call me back\nabout my order"
        assert ticket.channel == "web_form" and ticket.tags == ["chat"]
        assert ticket.requester_contact_id is not None


def test_starting_chats_is_limited_per_address_and_per_email(app, client, tenant_a, monkeypatch):
    always_open(tenant_a)
    base = f"/chat/{tenant_a.slug}"
    monkeypatch.setitem(app.config, "CHAT_EMAIL_RATE_LIMIT", "2 per hour")
    for _ in range(2):
        start_chat(client, tenant_a.slug, email="flood@example.com")
    flooded = client.post(f"{base}/chats", json={"body": "again", "email": "FLOOD@example.com"})
    assert flooded.status_code == 429 and flooded.mimetype == "application/problem+json"
    start_chat(client, tenant_a.slug, email="other@example.com")  # another person is not held back
    monkeypatch.setitem(app.config, "CHAT_START_RATE_LIMIT", "1 per minute")
    start_chat(client, tenant_a.slug)
    limited = client.post(f"{base}/chats", json={"body": "once more"}, headers={"Origin": ORIGIN})
    assert limited.status_code == 429 and limited.headers["Access-Control-Allow-Origin"] == "*"
    assert _count(tenant_a, Chat) == 4


def test_writing_is_limited_per_address(app, client, tenant_a, monkeypatch):
    always_open(tenant_a)
    chat = start_chat(client, tenant_a.slug)
    monkeypatch.setitem(app.config, "CHAT_WRITE_RATE_LIMIT", "2 per minute")
    path = f"/chat/{tenant_a.slug}/chats/{chat['id']}/messages"
    codes = [
        client.post(path, json={"body": "spam"}, headers=token_header(chat)).status_code for _ in range(3)
    ]
    assert codes == [201, 201, 429]


def test_the_widget_is_gone_while_chat_or_service_is_switched_off(client, tenant_a):
    always_open(tenant_a)
    for module in ("chat", "service"):
        set_module_enabled(db.session, tenant_a.tenant.id, module, False, actor="test")
        db.session.commit()
        response = client.post(f"/chat/{tenant_a.slug}/chats", json={"body": "hi"})
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        set_module_enabled(db.session, tenant_a.tenant.id, module, True, actor="test")
        db.session.commit()
    assert _count(tenant_a, Chat) == 0
