"""The service module's privacy hooks: a person's tickets (public thread only) in their data, and
erasure removing their tickets and every message they wrote, leaving other people's tickets alone."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.modules.registry import DataSubject
from saas.modules.service import privacy
from saas.modules.service.models import Ticket, TicketEvent, TicketMessage
from saas.modules.service.tickets import add_customer_message, add_staff_message, rate_ticket, tickets
from tests.modules.service.conftest import add_contact, add_ticket


def _setup(fixture):
    ann = add_contact(fixture, first_name="Ann", email="ann@example.com")
    ben = add_contact(fixture, first_name="Ben", email="ben@example.com")
    own = add_ticket(fixture, subject="Ann's problem", requester_contact_id=ann)
    other = add_ticket(fixture, subject="Ben's problem", requester_contact_id=ben)
    with tenant_session(fixture.ref) as session:
        add_staff_message(session, uuid.UUID(own), "internal: VIP", kind="note")
        add_staff_message(session, uuid.UUID(own), "We are looking")
        add_customer_message(
            session, session.get(Ticket, uuid.UUID(own)), uuid.UUID(ann), "Thanks", channel="portal"
        )
        # Ann also wrote on Ben's ticket (a colleague's request, in copy).
        add_customer_message(
            session, session.get(Ticket, uuid.UUID(other)), uuid.UUID(ann), "Me too", channel="email"
        )
        tickets.update(session, uuid.UUID(own), {"status": "solved"})
        rate_ticket(session, session.get(Ticket, uuid.UUID(own)), 5, "Great")
    return ann, ben, own, other


def test_personal_data_holds_their_tickets_public_thread_and_their_other_messages(tenant_a):
    ann, _, _, _ = _setup(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        data = privacy.personal_data(session, DataSubject(uuid.UUID(ann), "ann@example.com"))
    [ticket] = data["tickets"]
    assert ticket["subject"] == "Ann's problem" and ticket["csat_rating"] == 5
    assert [(m["from"], m["body"]) for m in ticket["messages"]] == [
        ("support", "We are looking"),
        ("you", "Thanks"),
    ]
    assert [m["body"] for m in data["messages_on_other_tickets"]] == ["Me too"]


def test_erasure_removes_their_tickets_and_messages_and_keeps_others(tenant_a):
    ann, ben, own, other = _setup(tenant_a)
    subject = DataSubject(uuid.UUID(ann), "ann@example.com")
    with tenant_session(tenant_a.ref) as session:
        assert privacy.erase_person(session, subject) == {"tickets": 1, "ticket_messages": 2}
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Ticket, uuid.UUID(own)) is None
        assert (
            session.scalar(
                select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == uuid.UUID(own))
            )
            == 0
        )
        assert [m.body for m in session.get(Ticket, uuid.UUID(other)).messages] == []
        assert session.scalar(select(func.count()).select_from(TicketMessage)) == 0
        assert privacy.erase_person(session, subject) == {"tickets": 0, "ticket_messages": 0}  # idempotent
        assert privacy.personal_data(session, DataSubject(uuid.UUID(ben), None))["tickets"][0]["subject"] == (
            "Ben's problem"
        )
