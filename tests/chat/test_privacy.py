"""Live chat and personal data: a person's chats (by contact, or by the email they gave) are in their
download and go with their erasure, through the privacy module's own collection and erasure; retention
keeps the visitors of open chats."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.modules.chat import privacy
from saas.modules.chat.models import Chat, ChatMessage
from saas.modules.privacy.subject import data_subject, erase_subject, personal_data_json
from tests.chat.conftest import always_open, start_chat


def _contact_of(fixture, chat: dict) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return session.get(Chat, uuid.UUID(chat["id"])).contact_id


def test_a_persons_download_holds_their_chats_and_no_one_elses(client, tenant_a):
    always_open(tenant_a)
    mine = start_chat(client, tenant_a.slug, "My address is 1 Main St", name="Gil", email="gil@example.com")
    start_chat(client, tenant_a.slug, "Hal's question", email="hal@example.com")
    with tenant_session(tenant_a.ref) as session:
        from saas.modules.chat import chats

        chats.add_agent_message(session, uuid.UUID(mine["id"]), "Noted.")
    with tenant_session(tenant_a.ref) as session:
        document = json.loads(personal_data_json(session, _contact_of(tenant_a, mine), "Alpha"))
    [chat] = document["data"]["chat"]["chats"]
    assert chat["visitor_email"] == "gil@example.com" and chat["visitor_name"] == "Gil"
    assert [(m["from"], m["body"]) for m in chat["messages"]] == [
        ("you", "My address is 1 Main St"),
        ("support", "Noted."),
    ]
    assert "Hal" not in json.dumps(document)


def test_erasure_removes_the_persons_chats_and_their_messages_only(client, tenant_a):
    always_open(tenant_a)
    mine = start_chat(client, tenant_a.slug, "erase me", email="ida@example.com")
    start_chat(client, tenant_a.slug, "keep me", email="jo@example.com")
    with tenant_session(tenant_a.ref) as session:
        # A chat with the same email but not linked to the contact (as if started before it existed).
        linked = session.get(Chat, uuid.UUID(mine["id"]))
        session.add(Chat(status="closed", visitor_email="IDA@example.com", token_hash="f" * 64))
        report = erase_subject(session, data_subject(session, linked.contact_id))
    assert report["chats"] == 2
    with tenant_session(tenant_a.ref) as session:
        assert [c.visitor_email for c in session.scalars(select(Chat))] == ["jo@example.com"]
        assert [m.body for m in session.scalars(select(ChatMessage))] == ["keep me"]


def test_retention_keeps_visitors_of_open_or_recent_chats(client, tenant_a):
    always_open(tenant_a)
    open_chat = start_chat(client, tenant_a.slug, "open", email="kim@example.com")
    closed_chat = start_chat(client, tenant_a.slug, "closed", email="lou@example.com")
    with tenant_session(tenant_a.ref) as session:
        chat = session.get(Chat, uuid.UUID(closed_chat["id"]))
        chat.status = "closed"
        chat.updated_at = datetime.now(UTC) - timedelta(days=400)
    cutoff = datetime.now(UTC) - timedelta(days=30)
    with tenant_session(tenant_a.ref) as session:
        kept = {row for query in privacy.retention_keep(cutoff) for row in session.scalars(query)}
        assert kept == {_contact_of(tenant_a, open_chat)}
        assert session.scalar(select(func.count()).select_from(Chat)) == 2
