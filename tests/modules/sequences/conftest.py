"""Sequence fixtures: the shared SMTP sink, people with and without consent (marketing's helper), the
owner's user id, sequences built through the service, enrolling, and running the queued jobs."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.auth.models import User
from saas.automation import clock
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from saas.modules.sequences.models import SequenceEnrolment, SequenceEvent
from saas.modules.sequences.sequences import create_sequence, enrol_contacts
from tests.conftest import TenantFixture
from tests.mailbox.conftest import dovecot, sink_port  # noqa: F401  (a real Dovecot and the sink's port)
from tests.mailsink import MailSink, mail_sink  # noqa: F401  (the shared SMTP sink fixture)
from tests.meetings.conftest import radicale  # noqa: F401  (a real Radicale for booking links)
from tests.modules.marketing import conftest as marketing

__all__ = ["MailSink"]

STEPS = [
    {"type": "email", "subject": "Hello {{ first_name }}", "body": 'Hi {{ first_name | "there" }}, a word.'},
    {"type": "wait", "amount": 2, "unit": "days"},
    {"type": "task", "title": "Call them", "due_days": 1},
    {"type": "email", "subject": "Following up", "body": "Still there?"},
]


@pytest.fixture(autouse=True)
def _real_clock():
    clock.reset()
    yield
    clock.reset()


def add_people(fixture: TenantFixture, states: dict[str, int]) -> dict[str, list[str]]:
    """Marketing's people under addresses of their own (the sink may carry other tests' mail)."""
    return marketing.add_people(fixture, states, tag=f"sq{uuid.uuid4().hex[:8]}")


def contact_ids(fixture: TenantFixture, emails: list[str]) -> list[uuid.UUID]:
    with tenant_session(fixture.ref) as session:
        found = dict(
            session.execute(select(Contact.email, Contact.id).where(Contact.email.in_(emails))).all()
        )
    return [found[email] for email in emails]


def owner_id(fixture: TenantFixture) -> uuid.UUID:
    return db.session.scalar(select(User.id).where(User.email == fixture.email))


def make_sequence(fixture: TenantFixture, steps: list[dict] | None = None, **extra) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        data = {"name": extra.pop("name", "Outreach"), "steps": STEPS if steps is None else steps, **extra}
        return create_sequence(session, data, user_id=owner_id(fixture)).id


def enrol(fixture: TenantFixture, sequence_id: uuid.UUID, ids: list[uuid.UUID], user_id=None) -> int:
    with tenant_session(fixture.ref) as session:
        return len(enrol_contacts(session, sequence_id, ids, user_id or owner_id(fixture)))


def statuses(fixture: TenantFixture) -> list[str]:
    with tenant_session(fixture.ref) as session:
        return sorted(session.scalars(select(SequenceEnrolment.status)))


def history(fixture: TenantFixture, contact_id: uuid.UUID) -> list[tuple[str, str]]:
    with tenant_session(fixture.ref) as session:
        return list(
            session.execute(
                select(SequenceEvent.kind, SequenceEvent.outcome)
                .join(SequenceEnrolment, SequenceEnrolment.id == SequenceEvent.enrolment_id)
                .where(SequenceEnrolment.contact_id == contact_id)
                .order_by(SequenceEvent.id)
            ).all()
        )


def run_jobs() -> None:
    """Every queued job (enrolments advanced, the outbox mailed), as the worker runs them."""
    make_worker().work(burst=True)
