"""Runs: a trigger enrols a record, steps run once each, waits follow the workflow clock, loops are
stopped, limits hold, and an edited or switched-off workflow behaves as its page says."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from saas.automation import clock
from saas.db import tenant_session
from saas.modules.core.models import Contact
from saas.modules.core.services import contacts
from saas.modules.sfa.models import Task
from saas.modules.workflows.models import WorkflowEmail, WorkflowEnrolment, WorkflowStepRun
from saas.modules.workflows.runs import advance_due
from saas.modules.workflows.workflows import set_enabled, update_workflow
from tests.modules.workflows.conftest import (
    add_people,
    make_campaign,
    make_workflow,
    run_jobs,
    sender_settings,
)

TITLE_TO_CEO = {"type": "record_updated", "record_type": "contacts", "field": "title", "value": "CEO"}


def _contact_id(fixture, email: str) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(Contact.id).where(Contact.email == email))


def _set_title(fixture, contact_id: uuid.UUID, title: str) -> None:
    with tenant_session(fixture.ref) as session:
        contacts.update(session, contact_id, {"title": title})


def _runs(fixture) -> list[WorkflowEnrolment]:
    with tenant_session(fixture.ref) as session:
        runs = list(session.scalars(select(WorkflowEnrolment).order_by(WorkflowEnrolment.enrolled_at)))
        session.expunge_all()
        return runs


def test_a_field_moving_to_a_value_mails_the_contact_and_creates_one_task(tenant_a, mail_sink):
    sender_settings(tenant_a)
    template = make_campaign(tenant_a)
    people = add_people(tenant_a, {"granted": 1, "none": 1})
    make_workflow(
        tenant_a,
        TITLE_TO_CEO,
        [{"type": "send_email", "template_id": template}, {"type": "create_task", "title": "Call the CEO"}],
    )
    granted, unconsented = (_contact_id(tenant_a, people[k][0]) for k in ("granted", "none"))
    _set_title(tenant_a, granted, "CTO")  # another value: no run
    assert _runs(tenant_a) == []
    _set_title(tenant_a, granted, "CEO")
    _set_title(tenant_a, unconsented, "CEO")
    run_jobs()

    assert len(mail_sink.to(people["granted"][0])) == 1
    assert mail_sink.to(people["none"][0]) == []  # may_contact refused: skipped, with the reason
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Task).where(Task.title == "Call the CEO")) == 2
        skipped = session.scalars(
            select(WorkflowStepRun.detail).where(WorkflowStepRun.outcome == "skipped")
        ).all()
        assert skipped == ["Skipped: the contact has not agreed to marketing email."]
        assert session.scalar(select(WorkflowEmail.status)) == "sent"
    assert {run.status for run in _runs(tenant_a)} == {"done"}
    run_jobs()  # nothing runs twice
    assert len(mail_sink.to(people["granted"][0])) == 1


def test_a_workflow_that_triggers_itself_for_the_same_record_is_stopped_and_recorded(tenant_a):
    people = add_people(tenant_a, {"none": 1})
    make_workflow(
        tenant_a,
        {"type": "record_updated", "record_type": "contacts", "field": "first_name"},
        [{"type": "set_field", "field": "first_name", "value": "Looped"}],
    )
    contact_id = _contact_id(tenant_a, people["none"][0])
    with tenant_session(tenant_a.ref) as session:
        contacts.update(session, contact_id, {"first_name": "Start"})
    run_jobs()
    runs = _runs(tenant_a)
    assert [run.status for run in runs] == ["done", "stopped"]
    assert runs[1].reason.startswith("Loop stopped")
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, contact_id).first_name == "Looped"


def test_runs_under_way_keep_their_version_and_a_switched_off_workflow_stops_them_at_the_next_step(tenant_a):
    people = add_people(tenant_a, {"none": 2})
    workflow_id = make_workflow(
        tenant_a,
        TITLE_TO_CEO,
        [{"type": "wait", "amount": 1, "unit": "days"}, {"type": "create_task", "title": "Version one"}],
    )
    first, second = (_contact_id(tenant_a, email) for email in people["none"])
    _set_title(tenant_a, first, "CEO")
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        update_workflow(
            session,
            workflow_id,
            {"steps": [{"type": "create_task", "title": "Version two"}]},
            base_url=None,
        )
    _set_title(tenant_a, second, "CEO")
    run_jobs()
    clock.advance(timedelta(days=1, minutes=1))
    with tenant_session(tenant_a.ref) as session:
        advance_due(session)
        titles = sorted(session.scalars(select(Task.title)))
    assert titles == ["Version one", "Version two"]
    assert sorted(run.version for run in _runs(tenant_a)) == [1, 2]

    _set_title(tenant_a, first, "CTO")
    waiting = [{"type": "wait", "amount": 1, "unit": "days"}, {"type": "stop"}]
    workflow_id2 = make_workflow(tenant_a, TITLE_TO_CEO, waiting, name="Other")
    _set_title(tenant_a, first, "CEO")
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        set_enabled(session, workflow_id2, False)
    run_jobs()  # due at once: stopped without waiting out the day
    [stopped] = [run for run in _runs(tenant_a) if run.workflow_id == workflow_id2]
    assert (stopped.status, stopped.reason) == ("stopped", "The workflow was switched off.")


def test_enrolments_past_the_hourly_limit_are_refused_with_the_reason(app, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "WORKFLOW_ENROLMENTS_PER_HOUR", 1)
    people = add_people(tenant_a, {"none": 2})
    make_workflow(tenant_a, TITLE_TO_CEO, [{"type": "stop"}])
    for email in people["none"]:
        _set_title(tenant_a, _contact_id(tenant_a, email), "CEO")
    statuses = sorted((run.status, run.reason or "") for run in _runs(tenant_a))
    assert statuses[0] == ("active", "")
    assert statuses[1][0] == "refused" and "limit of 1 enrolments an hour" in statuses[1][1]
