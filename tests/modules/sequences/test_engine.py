"""The sequence engine on the test clock: emails go out as the enrolling salesperson (the workspace's
sender, replies to them) only to contacts who agreed, a wait holds the run, the task is the salesperson's,
a contact is enrolled once while live, pause and resume hold and release it, the ledger counts each email
once, and the counts are per salesperson."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from saas.automation import clock
from saas.billing.models import UsageRecord
from saas.db import db, tenant_session
from saas.modules.sequences.models import SequenceEmail, SequenceEnrolment
from saas.modules.sequences.runs import advance_all_due
from saas.modules.sequences.sequences import counts_by_salesperson
from saas.modules.sequences.stops import change_enrolment
from saas.modules.sfa.models import Task
from tests.modules.sequences.conftest import (
    add_people,
    contact_ids,
    enrol,
    history,
    make_sequence,
    owner_id,
    run_jobs,
    statuses,
)


def _tasks(fixture) -> list[tuple]:
    with tenant_session(fixture.ref) as session:
        return list(session.execute(select(Task.title, Task.assignee_user_id, Task.contact_id)).all())


def _two_days_later() -> None:
    clock.advance(timedelta(days=2, minutes=1))
    advance_all_due()  # the minute's sweep: the wait ran out
    run_jobs()


def test_a_sequence_mails_as_the_salesperson_waits_then_creates_their_task_and_follows_up(
    app, tenant_a, mail_sink
):
    person = add_people(tenant_a, {"granted": 1})["granted"][0]
    [contact_id] = contact_ids(tenant_a, [person])
    sequence_id = make_sequence(tenant_a)
    assert enrol(tenant_a, sequence_id, [contact_id]) == 1
    run_jobs()

    [first] = mail_sink.to(person)
    assert first["Subject"] == "Hello Granted0"
    assert "Hi Granted0, a word." in first.get_content()
    assert first["Reply-To"] == tenant_a.email  # answers go to the salesperson
    assert tenant_a.email in first["From"]
    assert statuses(tenant_a) == ["active"] and _tasks(tenant_a) == []
    assert history(tenant_a, contact_id) == [("enrolled", "done"), ("email", "done"), ("wait", "waiting")]

    advance_all_due()  # the wait has not run out: nothing moves
    run_jobs()
    assert len(mail_sink.to(person)) == 1 and _tasks(tenant_a) == []

    _two_days_later()
    assert _tasks(tenant_a) == [("Call them", owner_id(tenant_a), contact_id)]
    _, second = mail_sink.to(person)
    assert second["Subject"] == "Following up" and second["In-Reply-To"] == first["Message-ID"]
    assert statuses(tenant_a) == ["finished"]
    assert history(tenant_a, contact_id)[-3:] == [("wait", "done"), ("task", "done"), ("email", "done")]


def test_a_contact_who_has_not_agreed_gets_no_email_but_the_salesperson_still_gets_the_task(
    app, tenant_a, mail_sink
):
    people = add_people(tenant_a, {"withdrawn": 1, "none": 1})
    ids = contact_ids(tenant_a, people["withdrawn"] + people["none"])
    sequence_id = make_sequence(tenant_a, [STEP_EMAIL, {"type": "task", "title": "Ring"}])
    enrol(tenant_a, sequence_id, ids)
    run_jobs()
    assert [m for m in mail_sink.messages if m["To"] in people["withdrawn"] + people["none"]] == []
    assert sorted(contact for _, _, contact in _tasks(tenant_a)) == sorted(ids)
    assert ("email", "skipped") in history(tenant_a, ids[0])
    assert statuses(tenant_a) == ["finished", "finished"]


STEP_EMAIL = {"type": "email", "subject": "Hi", "body": "Hello"}


def test_a_contact_is_enrolled_once_while_live_and_again_after_it_ended(app, tenant_a):
    [contact_id] = contact_ids(tenant_a, add_people(tenant_a, {"granted": 1})["granted"])
    sequence_id = make_sequence(tenant_a, [{"type": "wait", "amount": 1, "unit": "hours"}])
    assert enrol(tenant_a, sequence_id, [contact_id]) == 1
    assert enrol(tenant_a, sequence_id, [contact_id, contact_id]) == 0
    with tenant_session(tenant_a.ref) as session:
        enrolment_id = session.scalar(select(SequenceEnrolment.id))
        change_enrolment(session, enrolment_id, "stop")
    assert enrol(tenant_a, sequence_id, [contact_id]) == 1
    assert statuses(tenant_a) == ["active", "stopped"]


def test_a_paused_enrolment_does_not_move_until_resumed(app, tenant_a, mail_sink):
    [person] = add_people(tenant_a, {"granted": 1})["granted"]
    [contact_id] = contact_ids(tenant_a, [person])
    sequence_id = make_sequence(tenant_a, [{"type": "wait", "amount": 1, "unit": "hours"}, STEP_EMAIL])
    enrol(tenant_a, sequence_id, [contact_id])
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        change_enrolment(session, session.scalar(select(SequenceEnrolment.id)), "pause")
    clock.advance(timedelta(hours=2))
    advance_all_due()
    run_jobs()
    assert mail_sink.to(person) == [] and statuses(tenant_a) == ["paused"]
    with tenant_session(tenant_a.ref) as session:
        change_enrolment(session, session.scalar(select(SequenceEnrolment.id)), "resume")
    run_jobs()
    assert len(mail_sink.to(person)) == 1 and statuses(tenant_a) == ["finished"]
    kinds = [kind for kind, _ in history(tenant_a, contact_id)]
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("email")


def test_each_sequence_email_is_counted_once_in_the_usage_ledger(app, tenant_a, mail_sink, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_ledger_only")  # billing on: the ledger records
    people = add_people(tenant_a, {"granted": 3})["granted"]
    enrol(tenant_a, make_sequence(tenant_a, [STEP_EMAIL]), contact_ids(tenant_a, people))
    run_jobs()
    run_jobs()  # nothing left to send: nothing counted again
    rows = db.session.scalars(
        select(UsageRecord).where(
            UsageRecord.tenant_id == tenant_a.tenant.id, UsageRecord.meter_key == "emails_sent"
        )
    ).all()
    assert sorted(m["To"] for m in mail_sink.messages if m["To"] in people) == sorted(people)
    assert len(rows) == 3 and all(r.subject.startswith("sequence:") for r in rows)


def test_enrolments_are_counted_per_salesperson(app, tenant_a):
    people = contact_ids(tenant_a, add_people(tenant_a, {"granted": 3})["granted"])
    sequence_id = make_sequence(tenant_a, [{"type": "wait", "amount": 1, "unit": "days"}])
    other = uuid.uuid4()  # a second salesperson (counts need no membership: a former member stays counted)
    enrol(tenant_a, sequence_id, people[:2])
    enrol(tenant_a, sequence_id, people[2:], user_id=other)
    with tenant_session(tenant_a.ref) as session:
        stopped = session.scalar(
            select(SequenceEnrolment.id).where(SequenceEnrolment.contact_id == people[0])
        )
        change_enrolment(session, stopped, "stop")
        counts = {row.user_id: row.counts for row in counts_by_salesperson(session, sequence_id)}
    assert counts[owner_id(tenant_a)] | {} == {
        "enrolled": 2, "active": 1, "paused": 0, "finished": 0, "replied": 0, "booked": 0,
        "unsubscribed": 0, "stopped": 1,
    }  # fmt: skip
    assert counts[other]["enrolled"] == 1 and counts[other]["active"] == 1


def test_rerunning_the_advancing_job_repeats_no_email_and_no_task(app, tenant_a, mail_sink):
    people = add_people(tenant_a, {"granted": 2})["granted"]
    sequence_id = make_sequence(tenant_a, [STEP_EMAIL, {"type": "task", "title": "Ring"}])
    enrol(tenant_a, sequence_id, contact_ids(tenant_a, people))
    run_jobs()
    advance_all_due()  # the sweep runs again over what the job did
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        assert len(session.scalars(select(SequenceEmail.id)).all()) == 2
    assert sorted(m["To"] for m in mail_sink.messages if m["To"] in people) == sorted(people)
    assert len(_tasks(tenant_a)) == 2
