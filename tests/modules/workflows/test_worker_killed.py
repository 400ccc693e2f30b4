"""A worker killed (SIGKILL, with the work horse RQ forked) mid-run: the runs resume without a second
email or a second task. Once inside a step (a webhook holds the run's transaction open), once while the
outbox is being mailed."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.sfa.models import Task
from saas.modules.workflows.models import WorkflowEmail, WorkflowEnrolment, WorkflowStepRun
from saas.modules.workflows.runs import advance_all_due
from tests.faults.processes import kill_with_its_horse, start_worker, wait_for
from tests.faults.test_worker_killed_webhook import holding_receiver
from tests.mailsink import GatedSink, MailSink, start_sink
from tests.modules.workflows.conftest import (
    add_people,
    make_campaign,
    make_workflow,
    run_jobs,
    sender_settings,
)

CEO = {"type": "record_updated", "record_type": "contacts", "field": "title", "value": "CEO"}


def _promote_everyone(fixture) -> None:
    """One transaction: every contact becomes CEO, so every run starts in one advance job."""
    with tenant_session(fixture.ref) as session:
        for contact in session.scalars(select(Contact)):
            from saas.modules.core.services import contacts

            contacts.update(session, contact.id, {"title": "CEO"})


def _tasks(fixture) -> Counter:
    with tenant_session(fixture.ref) as session:
        return Counter(session.execute(select(Task.contact_id, Task.title)).all())


def _all_done(fixture) -> bool:
    with tenant_session(fixture.ref) as session:
        return set(session.scalars(select(WorkflowEnrolment.status))) == {"done"}


def _to(sink: MailSink, people: dict[str, list[str]]) -> list:
    """The sink's messages to these people (the worker also runs other tests' queued jobs)."""
    return [m for m in sink.messages if m["To"] in people["granted"]]


def _swept_and_done(fixture) -> bool:
    advance_all_due()  # what the minute's sweep does (the killed job's queue entry is gone with its worker)
    return _all_done(fixture)


def test_a_worker_killed_inside_a_step_repeats_no_task_and_no_email(app, tenant_a, monkeypatch):
    sink = MailSink()
    controller, smtp_url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_url)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", True)
    try:
        with holding_receiver() as receiver:
            receiver.hold = 0  # the first run's webhook call is held: its transaction is open
            sender_settings(tenant_a)
            template = make_campaign(tenant_a)
            people = add_people(tenant_a, {"granted": 3})
            make_workflow(tenant_a, CEO, [
                {"type": "create_task", "title": "First"},
                {"type": "send_email", "template_id": template},
                {"type": "webhook", "url": receiver.url},
                {"type": "create_task", "title": "Second"},
            ])  # fmt: skip
            _promote_everyone(tenant_a)

            worker = start_worker(app, SMTP_URL=smtp_url, WEBHOOKS_ALLOW_LOOPBACK="1")
            try:
                wait_for(lambda: len(receiver.received) == 1, "the worker to call the webhook")
            finally:
                kill_with_its_horse(worker)
                receiver.release.set()
            # Killed before its commit: no task, no queued email, no history survived.
            assert _tasks(tenant_a) == Counter()
            assert _to(sink, people) == []

            wait_for(lambda: _swept_and_done(tenant_a), "the runs to resume")
            run_jobs()  # the outbox's job
    finally:
        controller.stop()

    for email in people["granted"]:
        assert len(sink.to(email)) == 1
    tasks = _tasks(tenant_a)
    assert sorted(Counter(title for _, title in tasks.elements()).items()) == [("First", 3), ("Second", 3)]
    assert set(tasks.values()) == {1}  # one of each per contact
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(WorkflowStepRun.id).where(WorkflowStepRun.outcome == "failed")) is None
    # The webhook is at least once: the killed call and the resumed ones, under the run's id.
    assert len(receiver.received) == 4


def test_a_worker_killed_while_mailing_the_outbox_sends_each_email_once(app, tenant_a, monkeypatch):
    sink = GatedSink(accept=5)
    controller, smtp_url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_url)
    try:
        sender_settings(tenant_a)
        template = make_campaign(tenant_a)
        people = add_people(tenant_a, {"granted": 20})
        make_workflow(tenant_a, CEO, [{"type": "send_email", "template_id": template}])
        _promote_everyone(tenant_a)

        worker = start_worker(app, SMTP_URL=smtp_url)
        try:
            wait_for(sink.holding.is_set, "the worker to mail five and wait on the sixth")
        finally:
            kill_with_its_horse(worker)
            sink.released.set()
        assert len(_to(sink, people)) < 20
        with tenant_session(tenant_a.ref) as session:
            assert "sending" in set(session.scalars(select(WorkflowEmail.status)))  # claimed, cut off

        wait_for(lambda: _sent_all(tenant_a), "the outbox to be mailed again")
    finally:
        controller.stop()
    assert Counter(m["To"] for m in _to(sink, people)) == Counter(people["granted"])


def _sent_all(fixture) -> bool:
    from saas.modules.workflows.emails import send_all_queued

    send_all_queued()  # the periodic sweep of the outbox
    with tenant_session(fixture.ref) as session:
        return set(session.scalars(select(WorkflowEmail.status))) == {"sent"}
