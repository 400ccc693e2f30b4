"""An enrolment stops for a contact who replies (mail synced from the salesperson's real Dovecot mailbox,
matched to the thread of a sequence email: one sent through that mailbox, or one the workspace's sender
mailed), who books a meeting through a booking link (a real Radicale), or who withdraws consent; its
history says why. A mail that answers nothing of the sequence stops nothing."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.mailbox.models import MailMessage
from saas.modules.mailbox.sync import sync_mailbox
from saas.modules.privacy.consent import ConsentContext, record_consent
from saas.modules.sequences.models import SequenceEmail, SequenceEnrolment
from saas.modules.sequences.runs import advance_due
from saas.modules.sequences.stops import change_enrolment
from tests.conftest import csrf_token_from
from tests.mailbox.conftest import SALES, connect, deliver, mail
from tests.meetings.conftest import LIMITS, open_booking_link
from tests.meetings.conftest import connect as connect_calendar
from tests.modules.sequences.conftest import (
    add_people,
    contact_ids,
    enrol,
    history,
    make_sequence,
    run_jobs,
    statuses,
)

STEPS = [
    {"type": "email", "subject": "Quick question", "body": "Hi {{ first_name }}"},
    {"type": "wait", "amount": 3, "unit": "days"},
    {"type": "email", "subject": "Again", "body": "Hello again"},
]


def _enrolled(fixture) -> tuple[str, object]:
    [person] = add_people(fixture, {"granted": 1})["granted"]
    [contact_id] = contact_ids(fixture, [person])
    enrol(fixture, make_sequence(fixture, STEPS), [contact_id])
    return person, contact_id


def _sync(connected) -> None:
    with tenant_session(connected.tenant.ref) as session:
        sync_mailbox(session, str(connected.mailbox_id))


def _reason(fixture) -> str | None:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(SequenceEnrolment.reason))


def test_a_reply_to_mail_sent_through_the_salespersons_mailbox_stops_the_enrolment(
    app, tenant_a, dovecot, sink_port, mail_sink
):
    connected = connect(tenant_a, dovecot, sink_port)
    person, contact_id = _enrolled(tenant_a)
    run_jobs()
    [sent] = mail_sink.to(person)
    assert sent["From"] == SALES  # through the salesperson's own SMTP
    with tenant_session(tenant_a.ref) as session:
        email = session.scalar(select(SequenceEmail))
        outgoing = session.scalar(select(MailMessage).where(MailMessage.direction == "out"))
        assert email.mail_thread_id == outgoing.thread_id and outgoing.folder is not None  # in Sent

    deliver(dovecot, mail(person, SALES, "Something else", "Unrelated"))
    _sync(connected)
    assert statuses(tenant_a) == ["active"]  # a mail on another thread answers nothing

    deliver(dovecot, mail(person, SALES, "Re: Quick question", "Yes!", in_reply_to=sent["Message-ID"]))
    _sync(connected)
    assert statuses(tenant_a) == ["replied"] and _reason(tenant_a) == "The contact replied."
    assert history(tenant_a, contact_id)[-1] == ("stop", "replied")


def test_a_reply_to_mail_from_the_workspaces_sender_stops_the_enrolment_and_its_queued_mail(
    app, tenant_a, dovecot, sink_port, mail_sink
):
    person, contact_id = _enrolled(tenant_a)
    run_jobs()  # no mailbox yet: the workspace's sender, replies to the salesperson
    [sent] = mail_sink.to(person)
    assert sent["Reply-To"] == tenant_a.email
    connected = connect(tenant_a, dovecot, sink_port)
    deliver(dovecot, mail(person, SALES, "Re: Quick question", "Call me", in_reply_to=sent["Message-ID"]))
    _sync(connected)
    assert statuses(tenant_a) == ["replied"]
    assert ("stop", "replied") in history(tenant_a, contact_id)


def test_booking_a_meeting_through_a_booking_link_stops_the_enrolment(
    app, client, tenant_a, radicale, mail_sink, monkeypatch
):
    monkeypatch.setitem(app.config, "CALDAV_ALLOW_LOOPBACK", True)
    for name in LIMITS:
        monkeypatch.setitem(app.config, name, "10000 per minute")
    connect_calendar(tenant_a, radicale)
    open_booking_link(tenant_a)
    person, contact_id = _enrolled(tenant_a)
    run_jobs()
    page = client.get(f"/b/{tenant_a.slug}/ann?tz=UTC")
    start = datetime.fromisoformat(re.findall(r'data-slot="([^"]+)"', page.text)[2])
    form = client.get(f"/b/{tenant_a.slug}/ann/book", query_string={"start": start.isoformat(), "tz": "UTC"})
    booked = client.post(
        f"/b/{tenant_a.slug}/ann/book",
        data={"csrf_token": csrf_token_from(form.text), "start": start.isoformat(), "time_zone": "UTC",
              "name": "Granted Zero", "email": person},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    assert statuses(tenant_a) == ["booked"]
    assert history(tenant_a, contact_id)[-1] == ("stop", "booked")


@pytest.mark.parametrize(("purpose", "stops"), [("email_marketing", True), ("profiling", False)])
def test_withdrawing_consent_to_email_stops_the_enrolment(app, tenant_a, purpose, stops):
    _, contact_id = _enrolled(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        context = ConsentContext(source="unsubscribe", actor="contact")
        record_consent(session, contact_id, purpose, "withdrawn", context)
    assert statuses(tenant_a) == (["unsubscribed"] if stops else ["active"])
    if stops:
        assert _reason(tenant_a) == "The contact withdrew consent to email."
        assert history(tenant_a, contact_id)[-1] == ("stop", "unsubscribed")


def test_a_stopped_enrolments_queued_email_is_not_mailed(app, tenant_a, mail_sink):
    person, _ = _enrolled(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        advance_due(session)  # the email is queued, not yet mailed
        change_enrolment(session, session.scalar(select(SequenceEnrolment.id)), "stop")
    run_jobs()
    assert mail_sink.to(person) == []
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(SequenceEmail.status)) == "skipped"
