"""The automation engine with an automation of the test's own plugged in (sequences' tables, steps that
succeed, wait or raise): a raising step fails only its enrolment, naming the step that raised, with the
steps it took before rolled back; history lines are written once; the outbox mails only the workspace it
runs for and counts each email once; neither the advance nor the outbox touches another workspace."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from saas.automation import clock
from saas.automation.outbox import Outbox, Sending, WorkspaceSmtp, claim_outbox
from saas.automation.runs import Automation, Outcome
from saas.db import tenant_session
from saas.modules.sequences.models import SequenceEmail, SequenceEnrolment, SequenceEvent
from saas.modules.sequences.sequences import create_sequence
from tests.conftest import TenantFixture
from tests.mailsink import MailSink, start_sink
from tests.modules.sequences.conftest import add_people, contact_ids

OK = {"type": "ok"}
BOOM = {"type": "boom"}
WAIT = {"type": "pause"}


class ProbeRuns(Automation):
    """Steps by type: ``ok`` queues nothing and goes on, ``pause`` waits an hour, ``boom`` raises."""

    module = "sequences"
    enrolments = SequenceEnrolment
    history = SequenceEvent
    advance_job = "saas.modules.sequences.runs.advance_due"
    noun = "probe enrolment"
    done_status = "finished"

    def execute(self, session, run: Any, enrolment: Any, step: dict[str, Any], index: int) -> Outcome:
        if step["type"] == "boom":
            raise ValueError("the probe's step raised")
        if step["type"] == "pause":
            started = enrolment.wait_started_at or clock.now()
            if clock.now() < started + timedelta(hours=1):
                return Outcome("wait", detail="Waiting an hour.", until=started + timedelta(hours=1))
        return Outcome("next", "done", f"Step {index} ran.")


class ProbeOutbox(Outbox):
    """Sequence rows mailed as they are (subject and body), through the workspace's SMTP server."""

    module = "sequences"
    emails = SequenceEmail
    send_job = "saas.modules.sequences.emails.send_queued"
    sender = uuid.UUID("6f1d1f43-54f0-4f1e-9a2f-0000000000ff")
    usage_subject = "probe"

    def deliver(self, session, sending: Sending, email: SequenceEmail, smtp: WorkspaceSmtp) -> str | None:
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "probe@example.org", email.email, email.subject
        message.set_content(email.body)
        smtp().send_message(message)
        return None


RUNS, OUTBOX = ProbeRuns(), ProbeOutbox()


@pytest.fixture(autouse=True)
def _real_clock():
    clock.reset()
    yield
    clock.reset()


def _enrol(fixture: TenantFixture, steps_per_person: list[list[dict]]) -> list[uuid.UUID]:
    """Enrolments (due now) of new consenting people in a sequence, each with its own steps."""
    people = contact_ids(fixture, add_people(fixture, {"granted": len(steps_per_person)})["granted"])
    with tenant_session(fixture.ref) as session:
        sequence = create_sequence(
            session, {"name": "Probe", "steps": [{"type": "task", "title": "Unused"}]}, user_id=None
        )
        ids = []
        for contact_id, steps in zip(people, steps_per_person, strict=True):
            enrolment = SequenceEnrolment(
                sequence_id=sequence.id, contact_id=contact_id, steps=steps, status="active",
                step_index=0, next_run_at=clock.now(), enrolled_at=clock.now(),
            )  # fmt: skip
            session.add(enrolment)
            session.flush()
            ids.append(enrolment.id)
    return ids


def _state(fixture: TenantFixture, enrolment_id: uuid.UUID) -> tuple[str, int, str | None, list[tuple]]:
    with tenant_session(fixture.ref) as session:
        enrolment = session.get(SequenceEnrolment, enrolment_id)
        lines = session.execute(
            select(SequenceEvent.step_index, SequenceEvent.kind, SequenceEvent.outcome)
            .where(SequenceEvent.enrolment_id == enrolment_id)
            .order_by(SequenceEvent.id)
        ).all()
        return enrolment.status, enrolment.step_index, enrolment.reason, [tuple(line) for line in lines]


def test_a_raising_step_fails_only_its_enrolment_and_names_the_step_that_raised(app, tenant_a):
    good, bad = _enrol(tenant_a, [[OK, OK], [OK, BOOM, OK]])
    with tenant_session(tenant_a.ref) as session:
        assert RUNS.advance_due(session) == {"advanced": 2}

    assert _state(tenant_a, good) == ("finished", 2, None, [(0, "ok", "done"), (1, "ok", "done")])
    # Its first step's line went with the rolled-back advance: only the failure is left, at step 2.
    status, index, reason, lines = _state(tenant_a, bad)
    assert (status, index, reason) == ("failed", 0, "Step 2 failed: ValueError.")
    assert lines == [(1, "boom", "failed")]


def test_a_wait_is_written_once_and_the_run_goes_on_when_it_ran_out(app, tenant_a):
    [enrolment_id] = _enrol(tenant_a, [[OK, WAIT, OK]])
    with tenant_session(tenant_a.ref) as session:
        RUNS.advance_due(session)
    with tenant_session(tenant_a.ref) as session:
        assert RUNS.advance_due(session) == {"advanced": 0}  # not due before the hour
    assert _state(tenant_a, enrolment_id)[:2] == ("active", 1)

    clock.advance(timedelta(hours=1, minutes=1))
    with tenant_session(tenant_a.ref) as session:
        assert RUNS.advance_due(session) == {"advanced": 1}
    lines = [(0, "ok", "done"), (1, "wait", "waiting"), (1, "pause", "done"), (2, "ok", "done")]
    assert _state(tenant_a, enrolment_id) == ("finished", 3, None, lines)


def test_advancing_one_workspace_leaves_another_workspaces_due_enrolments_alone(app, tenant_a, tenant_b):
    [mine] = _enrol(tenant_a, [[OK]])
    [theirs] = _enrol(tenant_b, [[OK]])
    with tenant_session(tenant_a.ref) as session:
        assert RUNS.advance_due(session) == {"advanced": 1}
    assert _state(tenant_a, mine)[0] == "finished"
    assert _state(tenant_b, theirs) == ("active", 0, None, [])


def _queue(fixture: TenantFixture, subject: str) -> list[str]:
    """One queued email per new enrolment; returns the addresses."""
    ids = _enrol(fixture, [[OK], [OK]])
    with tenant_session(fixture.ref) as session:
        addresses = []
        for enrolment in session.scalars(select(SequenceEnrolment).where(SequenceEnrolment.id.in_(ids))):
            address = f"{uuid.uuid4().hex[:10]}@example.org"
            session.add(
                SequenceEmail(
                    enrolment_id=enrolment.id, step_index=0, contact_id=enrolment.contact_id, email=address,
                    subject=subject, body="Hello", status="queued", attempts=0,
                )
            )  # fmt: skip
            addresses.append(address)
    return addresses


def test_the_outbox_mails_only_its_own_workspace_and_marks_each_row_sent_once(
    app, tenant_a, tenant_b, mail_sink
):
    mine, theirs = _queue(tenant_a, "Ours"), _queue(tenant_b, "Theirs")
    with tenant_session(tenant_a.ref) as session:
        assert OUTBOX.send_queued(session, batch_size=1) == {"sent": 2, "failed": 0}
    with tenant_session(tenant_a.ref) as session:
        assert OUTBOX.send_queued(session) == {"sent": 0, "failed": 0}  # nothing is mailed twice
        assert set(session.scalars(select(SequenceEmail.status))) == {"sent"}

    assert sorted(m["To"] for m in mail_sink.messages if m["To"] in mine + theirs) == sorted(mine)
    with tenant_session(tenant_b.ref) as session:
        assert set(session.scalars(select(SequenceEmail.status))) == {"queued"}
        # B's own claim takes B's rows, and only those.
        assert sorted(e.email for e in claim_outbox(session, SequenceEmail, 10)) == sorted(theirs)


class RefusingSink(MailSink):
    """Refuses the message to one address (550), accepts the others."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refused in envelope.rcpt_tos:
            return "550 mailbox unavailable"
        return await super().handle_DATA(server, session, envelope)


def test_a_refused_email_is_marked_failed_with_the_code_and_the_others_still_go(app, tenant_a, monkeypatch):
    refused, accepted = _queue(tenant_a, "Ours")
    sink = RefusingSink(refused)
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    try:
        with tenant_session(tenant_a.ref) as session:
            assert OUTBOX.send_queued(session) == {"sent": 1, "failed": 1}
    finally:
        controller.stop()
    assert [m["To"] for m in sink.messages] == [accepted]
    with tenant_session(tenant_a.ref) as session:
        rows = dict(session.execute(select(SequenceEmail.email, SequenceEmail.last_error)).all())
        statuses = dict(session.execute(select(SequenceEmail.email, SequenceEmail.status)).all())
    assert statuses == {refused: "failed", accepted: "sent"}
    assert rows[refused] == "SMTP 550" and rows[accepted] is None
