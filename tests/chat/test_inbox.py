"""The agents' chat inbox /t/<slug>/chat: waiting chats listed, answered live (the inbox's event stream
carries what visitors write, after it is committed), ended as a ticket with the transcript (joining the
visitor's open ticket), and none of it reachable from another workspace."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from saas.db import db, tenant_session
from saas.modules.chat import chats, events
from saas.modules.chat.models import Chat
from saas.modules.service.models import Ticket, TicketMessage
from saas.modules.service.tickets import tickets
from saas.modules.switches import set_module_enabled
from tests.chat.conftest import always_open, start_chat, token_header
from tests.conftest import csrf_token_from, login


def _events(stream, count: int) -> list[tuple[str, dict]]:
    """The next ``count`` events of a server-sent event stream (heartbeats and retry hints skipped)."""
    found: list[tuple[str, dict]] = []
    for chunk in stream:
        fields = dict(
            line.split(":", 1) for line in chunk.decode().strip().splitlines() if not line.startswith(":")
        )
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"])))
            if len(found) == count:
                return found
    raise AssertionError(f"the stream ended after {found}")


def test_an_agent_sees_a_waiting_chat_answers_it_and_the_visitor_reads_the_answer(client, tenant_a):
    always_open(tenant_a)
    visitor = client.application.test_client()
    chat = start_chat(visitor, tenant_a.slug, "Where is my parcel?", name="Ann", email="ann@example.com")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/chat")
    assert page.status_code == 200 and "Ann" in page.text and "waiting" in page.text
    shown = client.get(f"/t/{tenant_a.slug}/chat/{chat['id']}")
    assert "Where is my parcel?" in shown.text
    answered = client.post(
        f"/t/{tenant_a.slug}/chat/{chat['id']}/messages",
        data={"csrf_token": csrf_token_from(shown.text), "body": "On its way!"},
        headers={"Accept": "application/json"},
    )
    assert answered.status_code == 201 and answered.get_json()["author"] == "agent"
    read = visitor.get(f"/chat/{tenant_a.slug}/chats/{chat['id']}", headers=token_header(chat)).get_json()
    assert read["status"] == "active" and [m["body"] for m in read["messages"]][-1] == "On its way!"
    refused = client.post(
        f"/t/{tenant_a.slug}/chat/{chat['id']}/messages",
        data={"csrf_token": csrf_token_from(shown.text), "body": ""},
    )
    assert refused.status_code == 422 and "Required." in refused.text


def test_the_inbox_stream_carries_what_visitors_write_once_committed(client, tenant_a):
    always_open(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    response = client.get(f"/t/{tenant_a.slug}/chat/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    stream = response.response  # subscribed before it answered: what follows cannot be missed
    visitor = client.application.test_client()
    chat = start_chat(visitor, tenant_a.slug, "Hello from the shop")
    refused = visitor.post(
        f"/chat/{tenant_a.slug}/chats/{chat['id']}/messages", json={"body": ""}, headers=token_header(chat)
    )
    assert refused.status_code == 422  # rolled back: announces nothing
    visitor.post(
        f"/chat/{tenant_a.slug}/chats/{chat['id']}/messages",
        json={"body": "Still there?"},
        headers=token_header(chat),
    )
    events = _events(stream, 3)
    response.close()
    assert [kind for kind, _ in events] == ["message", "chat", "message"]
    assert [data.get("body") for _, data in events] == ["Hello from the shop", None, "Still there?"]
    assert events[1][1] == {"chat_id": chat["id"], "status": "waiting", "visitor": ""}


def test_a_visitors_stream_carries_their_chat_only(client, tenant_a):
    always_open(tenant_a)
    mine, other = start_chat(client, tenant_a.slug, "mine"), start_chat(client, tenant_a.slug, "other")
    response = client.get(
        f"/chat/{tenant_a.slug}/chats/{mine['id']}/events?token={mine['token']}", buffered=False
    )
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    for chat, body in ((other, "not for you"), (mine, "for you")):
        client.post(
            f"/chat/{tenant_a.slug}/chats/{chat['id']}/messages",
            json={"body": body},
            headers=token_header(chat),
        )
    [(kind, data)] = _events(response.response, 1)
    response.close()
    assert kind == "message" and data["body"] == "for you"


def test_ending_a_chat_files_a_ticket_with_the_transcript(client, tenant_a):
    always_open(tenant_a)
    chat = start_chat(
        client.application.test_client(), tenant_a.slug, "My order 42 is late", email="cy@example.com"
    )
    login(client, tenant_a.email, tenant_a.password)
    with tenant_session(tenant_a.ref) as session:
        chats.add_agent_message(session, uuid.UUID(chat["id"]), "Let me check.")
    page = client.get(f"/t/{tenant_a.slug}/chat/{chat['id']}")
    ended = client.post(
        f"/t/{tenant_a.slug}/chat/{chat['id']}/close", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert ended.status_code == 302 and "/tickets/" in ended.headers["Location"]
    with tenant_session(tenant_a.ref) as session:
        stored = session.get(Chat, uuid.UUID(chat["id"]))
        ticket = session.get(Ticket, stored.ticket_id)
        assert stored.status == "closed" and ticket.subject == "Chat: My order 42 is late"
        assert ticket.requester_contact_id == stored.contact_id and ticket.tags == ["chat"]
        lines = ticket.description.splitlines()
        assert lines[0] == "Chat transcript (cy@example.com)"
        assert lines[1].endswith("cy@example.com: My order 42 is late") and lines[2].endswith(
            "Support: Let me check."
        )
    closed = client.post(
        f"/t/{tenant_a.slug}/chat/{chat['id']}/close", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert closed.status_code == 409


def test_a_chat_of_a_visitor_with_an_open_ticket_joins_that_ticket(client, tenant_a):
    always_open(tenant_a)
    chat = start_chat(client, tenant_a.slug, "About my open ticket", email="dee@example.com")
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.get(Chat, uuid.UUID(chat["id"])).contact_id
        solved = tickets.create(session, {"subject": "Old", "requester_contact_id": contact_id})
        tickets.update(session, solved.id, {"status": "solved"})
        open_one = tickets.create(session, {"subject": "Printer", "requester_contact_id": contact_id})
    with tenant_session(tenant_a.ref) as session:
        ticket = chats.close_chat(session, uuid.UUID(chat["id"]))
        assert ticket.id == open_one.id
    with tenant_session(tenant_a.ref) as session:
        [message] = session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == open_one.id)).all()
        assert message.author_contact_id == contact_id and "About my open ticket" in message.body
        assert len(session.scalars(select(Ticket)).all()) == 2


def test_tenant_b_agent_cannot_read_answer_or_end_tenant_a_chats(client, tenant_a, tenant_b):
    always_open(tenant_a)
    chat = start_chat(client.application.test_client(), tenant_a.slug, "secret of A")
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/chat").text)
    for slug in (tenant_b.slug, tenant_a.slug):
        base = f"/t/{slug}/chat/{chat['id']}"
        shown = client.get(base)
        assert shown.status_code == 404 and "secret of A" not in shown.text
        assert client.post(f"{base}/messages", data={"csrf_token": token, "body": "hi"}).status_code == 404
        assert client.post(f"{base}/close", data={"csrf_token": token}).status_code == 404
    assert "secret of A" not in client.get(f"/t/{tenant_b.slug}/chat").text
    assert client.get(f"/t/{tenant_a.slug}/chat/events").status_code == 404  # A's stream: not B's to open
    with tenant_session(tenant_a.ref) as session:
        stored = session.get(Chat, uuid.UUID(chat["id"]))
        assert stored.status == "waiting" and len(stored.messages) == 1


def test_the_settings_page_shows_the_snippet_to_admins(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/chat/settings")
    assert page.status_code == 200
    assert f"/chat/{tenant_a.slug}/widget.js&#34; async&gt;&lt;/script&gt;" in page.text


def test_the_inbox_is_gone_while_chat_or_the_service_module_is_off(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    for module in ("chat", "service"):
        set_module_enabled(db.session, tenant_a.tenant.id, module, False, actor="test")
        db.session.commit()
        for path in ("/chat", "/chat/events", "/chat/settings"):
            assert client.get(f"/t/{tenant_a.slug}{path}").status_code == 404, (module, path)
        set_module_enabled(db.session, tenant_a.tenant.id, module, True, actor="test")
        db.session.commit()
    assert client.get(f"/t/{tenant_a.slug}/chat").status_code == 200


def test_a_stream_ends_by_itself_and_lets_go_of_its_subscription(client, tenant_a, monkeypatch):
    """Browsers reconnect, so a server thread is never held by a stream for longer than it allows."""
    monkeypatch.setattr(events, "STREAM_SECONDS", 0)
    login(client, tenant_a.email, tenant_a.password)
    response = client.get(f"/t/{tenant_a.slug}/chat/events", buffered=False)
    assert list(response.response) == [b"retry: 2000\n\n"]
    channel = events.inbox_channel(tenant_a.tenant.id)
    assert events.chat_events.redis.pubsub_numsub(channel) == [(channel.encode(), 0)]


def test_chats_of_contact_lists_a_persons_chats_newest_first(client, tenant_a):
    always_open(tenant_a)
    first = start_chat(client, tenant_a.slug, "first", email="eve@example.com")
    second = start_chat(client, tenant_a.slug, "second", email="eve@example.com")
    start_chat(client, tenant_a.slug, "someone else", email="fay@example.com")
    with tenant_session(tenant_a.ref) as session:
        contact_id = session.get(Chat, uuid.UUID(first["id"])).contact_id
        listed = chats.chats_of_contact(session, contact_id)
        assert [str(c.id) for c in listed] == [second["id"], first["id"]]
        assert [m.body for m in listed[0].messages] == ["second"]
