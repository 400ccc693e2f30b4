"""A worker killed (SIGKILL, with the work horse RQ forked) inside a step (its task's INSERT held by a lock
the test takes, after the email step queued its mail in the same transaction), and while it mails the
sequence outbox: the next sweep resumes, and nobody gets an email or a task twice."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select, text

from saas.db import db, tenant_pools, tenant_session
from saas.modules.sequences.emails import send_all_queued
from saas.modules.sequences.models import SequenceEmail, SequenceEvent
from saas.modules.sequences.runs import advance_all_due
from saas.modules.sfa.models import Task
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for
from tests.mailsink import GatedSink, MailSink, start_sink
from tests.modules.sequences.conftest import add_people, contact_ids, enrol, make_sequence, run_jobs, statuses


def _sent_all(fixture) -> bool:
    send_all_queued()  # the periodic sweep of the outbox (the killed job's queue entry went with it)
    with tenant_session(fixture.ref) as session:
        return set(session.scalars(select(SequenceEmail.status))) == {"sent"}


def test_a_worker_killed_while_mailing_the_outbox_sends_each_email_once(app, tenant_a, monkeypatch):
    sink = GatedSink(accept=5)
    controller, smtp_url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_url)
    try:
        people = add_people(tenant_a, {"granted": 20})["granted"]
        sequence_id = make_sequence(tenant_a, [{"type": "email", "subject": "Hi", "body": "Hello"}])
        enrol(tenant_a, sequence_id, contact_ids(tenant_a, people))

        worker = start_worker(app, SMTP_URL=smtp_url)
        try:
            wait_for(sink.holding.is_set, "five emails out and the sixth waiting for its answer")
        finally:
            kill_with_its_horse(worker)
            sink.released.set()
        assert len([m for m in sink.messages if m["To"] in people]) < 20
        with tenant_session(tenant_a.ref) as session:
            assert "sending" in set(session.scalars(select(SequenceEmail.status)))  # claimed, cut off

        wait_for(lambda: _sent_all(tenant_a), "the outbox to be mailed again")
    finally:
        controller.stop()
    assert Counter(m["To"] for m in sink.messages if m["To"] in people) == Counter(people)
    with tenant_session(tenant_a.ref) as session:
        steps = session.execute(
            select(SequenceEvent.enrolment_id, func.count())
            .where(SequenceEvent.kind == "email")
            .group_by(SequenceEvent.enrolment_id)
        ).all()
    assert len(steps) == 20 and {count for _, count in steps} == {1}


def _waiting_on_a_lock() -> bool:
    return bool(db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))


def test_a_worker_killed_inside_a_step_repeats_no_email_and_no_task(app, tenant_a, monkeypatch):
    sink = MailSink()
    controller, smtp_url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_url)
    try:
        people = add_people(tenant_a, {"granted": 3})["granted"]
        sequence_id = make_sequence(
            tenant_a, [{"type": "email", "subject": "Hi", "body": "Hello"}, {"type": "task", "title": "Ring"}]
        )
        enrol(tenant_a, sequence_id, contact_ids(tenant_a, people))
        with tenant_pools().engine_for(tenant_a.ref).connect() as holder:
            holder.execute(text("LOCK TABLE tasks IN EXCLUSIVE MODE"))  # the task step's INSERT waits
            worker = start_worker(app, SMTP_URL=smtp_url)
            try:
                wait_for(_waiting_on_a_lock, "the worker to wait inside the task step")
            finally:
                kill_with_its_horse(worker)
            holder.rollback()
        # Killed before its commit: no email queued or mailed, no task, no history of the steps.
        with tenant_session(tenant_a.ref) as session:
            assert session.scalar(select(func.count()).select_from(SequenceEmail)) == 0
            assert session.scalar(select(func.count()).select_from(Task)) == 0
        assert [m for m in sink.messages if m["To"] in people] == []

        wait_for(lambda: advance_all_due() and statuses(tenant_a) == ["finished"] * 3, "the runs to resume")
        run_jobs()  # the outbox's job
    finally:
        controller.stop()
    assert Counter(m["To"] for m in sink.messages if m["To"] in people) == Counter(people)
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 3
