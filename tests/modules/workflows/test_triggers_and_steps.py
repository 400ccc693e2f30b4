"""Each trigger starts runs (a deal's stage, a campaign open through marketing's pixel, a segment entered or
left, a date field reached) and each step does its part, skipped with the reason where its module is off,
its target refuses, or the record lacks what it needs; a failing step fails only its own run."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.modules.core.models import Contact
from saas.modules.core.services import contacts
from saas.modules.marketing import segments, tracking
from saas.modules.marketing.models import CampaignRecipient, SegmentMember
from saas.modules.registry import DataSubject
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Deal, Stage, Task
from saas.modules.switches import set_module_enabled
from saas.modules.website import visits
from saas.modules.workflows import privacy
from saas.modules.workflows.models import WorkflowEnrolment, WorkflowStepRun
from saas.modules.workflows.runs import advance_due
from saas.modules.workflows.triggers import check_dates, check_segments
from saas.modules.workflows.workflows import create_workflow
from tests.conftest import PASSWORD
from tests.faults.test_worker_killed_webhook import holding_receiver
from tests.modules.workflows.conftest import add_people, make_campaign, make_workflow, run_jobs


def _details(fixture) -> list[tuple[str, str, str]]:
    with tenant_session(fixture.ref) as session:
        rows = session.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.id)).all()
        return [(r.kind, r.outcome, r.detail) for r in rows]


def _runs(fixture) -> list[tuple[str, str | None]]:
    with tenant_session(fixture.ref) as session:
        return [(r.status, r.reason) for r in session.scalars(select(WorkflowEnrolment))]


def _member(fixture, name: str) -> uuid.UUID:
    membership = add_member(db.session, fixture.tenant.id, f"{name}-{uuid.uuid4().hex[:6]}@example.com",
                            PASSWORD, "member", actor="test")  # fmt: skip
    db.session.commit()
    return membership.user_id


def test_a_deal_moving_to_a_stage_is_given_owners_in_turn(tenant_a):
    first, second = _member(tenant_a, "first"), _member(tenant_a, "second")
    with tenant_session(tenant_a.ref) as session:
        stages = session.scalars(select(Stage).order_by(Stage.position)).all()
        ids = [deals.create(session, {"name": f"Deal {i}"}).id for i in range(3)]
    make_workflow(
        tenant_a,
        {"type": "deal_stage_changed", "stage_id": str(stages[1].id)},
        [{"type": "assign_owner", "members": [str(first), str(second)]}],
    )
    with tenant_session(tenant_a.ref) as session:
        deals.move(session, ids[0], stages[2].id)  # another stage: no run
    with tenant_session(tenant_a.ref) as session:
        for deal_id in ids:
            deals.move(session, deal_id, stages[1].id)
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        owners = [session.get(Deal, deal_id).owner_user_id for deal_id in ids]
    assert sorted(owners.count(member) for member in (first, second)) == [1, 2]
    assert len(set(owners)) == 2


def test_opening_a_campaign_email_starts_a_run_for_its_contact(tenant_a):
    campaign_id = uuid.UUID(make_campaign(tenant_a))
    people = add_people(tenant_a, {"granted": 1})
    make_workflow(tenant_a, {"type": "campaign_opened", "campaign_id": str(campaign_id)},
                  [{"type": "create_task", "title": "They opened it"}])  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.email == people["granted"][0]))
        recipient = CampaignRecipient(campaign_id=campaign_id, contact_id=contact.id, email=contact.email,
                                      status="sent")  # fmt: skip
        session.add(recipient)
        session.flush()
        token = tracking.make_token("open", tenant_a.tenant.id, recipient.id)
    with tenant_session(tenant_a.ref) as session:
        tracking.record_open(session, token)
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        [task] = session.scalars(select(Task)).all()
        assert (task.title, task.contact_id) == ("They opened it", contact.id)


def test_contacts_entering_and_leaving_a_segment_start_runs_once(tenant_a):
    people = add_people(tenant_a, {"none": 3})
    with tenant_session(tenant_a.ref) as session:
        segment = segments.create_segment(session, {"name": "VIP", "kind": "static"})
        ids = [session.scalar(select(Contact.id).where(Contact.email == e)) for e in people["none"]]
        segments.set_members(session, segment.id, ids[:2], add=True)
    make_workflow(tenant_a, {"type": "segment_entered", "segment_id": str(segment.id)}, [{"type": "stop"}])
    make_workflow(tenant_a, {"type": "segment_left", "segment_id": str(segment.id)}, [{"type": "stop"}])
    with tenant_session(tenant_a.ref) as session:
        assert check_segments(session) == {"enrolled": 2}  # both already in: entering at the first check
        assert check_segments(session) == {"enrolled": 0}
        segments.set_members(session, segment.id, [ids[0]], add=False)
        segments.set_members(session, segment.id, [ids[2]], add=True)
        session.commit()
        assert check_segments(session) == {"enrolled": 2}  # ids[2] entered, ids[0] left
        events = sorted(session.scalars(select(WorkflowEnrolment.trigger_event)))
    assert events == ["segment_entered", "segment_entered", "segment_entered", "segment_left"]


def test_a_date_field_reached_starts_one_run_per_record_and_date(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        soon = deals.create(session, {"name": "Soon", "close_date": date(2027, 3, 10)})
        deals.create(session, {"name": "Later", "close_date": date(2027, 4, 1)})
    trigger = {"type": "date_reached", "record_type": "deals", "field": "close_date", "days": -3}
    make_workflow(tenant_a, trigger, [{"type": "create_task", "title": "Closes in 3 days"}])
    with tenant_session(tenant_a.ref) as session:
        assert check_dates(session, today=date(2027, 3, 6)) == {"enrolled": 0}
        assert check_dates(session, today=date(2027, 3, 7)) == {"enrolled": 1}
        assert check_dates(session, today=date(2027, 3, 7)) == {"enrolled": 0}
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        [task] = session.scalars(select(Task)).all()
        assert (task.title, task.deal_id) == ("Closes in 3 days", soon.id)


def test_steps_whose_module_is_off_or_whose_target_refuses_are_skipped_with_the_reason(
    app, tenant_a, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    set_module_enabled(db.session, tenant_a.tenant.id, "sfa", False, actor="test")
    db.session.commit()
    make_workflow(tenant_a, {"type": "record_created", "record_type": "contacts"}, [
        {"type": "create_task", "title": "Never"},
        {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
        {"type": "assign_owner", "members": [str(uuid.uuid4())]},
    ])  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        contacts.create(session, {"first_name": "Ada"})
    run_jobs()
    details = _details(tenant_a)
    assert details[0] == ("create_task", "skipped", "Skipped: the sales module is switched off.")
    assert details[1][:2] == ("webhook", "skipped") and "not accepted" in details[1][2]
    assert details[2] == ("assign_owner", "skipped", "Skipped: this kind of record has no owner.")
    assert _runs(tenant_a) == [("done", None)]


def test_a_webhook_step_posts_the_run_and_a_list_step_adds_the_contact(app, tenant_a, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", True)
    with tenant_session(tenant_a.ref) as session:
        vip = segments.create_segment(session, {"name": "VIP", "kind": "static"})
    with holding_receiver() as receiver:
        make_workflow(tenant_a, {"type": "record_created", "record_type": "contacts"}, [
            {"type": "webhook", "url": receiver.url},
            {"type": "add_to_list", "segment_id": str(vip.id)},
        ])  # fmt: skip
        with tenant_session(tenant_a.ref) as session:
            contact_id = contacts.create(session, {"first_name": "Ada"}).id
        run_jobs()
    [(webhook_id, body)] = receiver.received
    assert str(contact_id) in body.decode() and webhook_id.endswith(":0")
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(SegmentMember.contact_id)).all() == [contact_id]


def test_a_failing_step_fails_its_own_run_and_the_batch_goes_on(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        good = deals.create(session, {"name": "Good"}).id
        bad = deals.create(session, {"name": "Bad"}).id
    make_workflow(
        tenant_a,
        {"type": "record_updated", "record_type": "deals", "field": "name"},
        [{"type": "branch", "condition": {"field": "name", "op": "equals", "value": "Bad!"}, "else_step": 2},
         {"type": "set_field", "field": "close_date", "value": "not a date"},
         {"type": "create_task", "title": "Fine"}],
    )  # fmt: skip
    with tenant_session(tenant_a.ref) as session:
        deals.update(session, good, {"name": "Good!"})
        deals.update(session, bad, {"name": "Bad!"})
        session.commit()
        advance_due(session)
        runs = {r.record_id: r for r in session.scalars(select(WorkflowEnrolment))}
        assert runs[good].status == "done"
        assert runs[bad].status == "failed" and runs[bad].reason.startswith("Step 2 failed")
        assert session.get(Deal, bad).close_date is None


def test_tenant_b_events_start_none_of_tenant_a_workflows(tenant_a, tenant_b):
    make_workflow(tenant_a, {"type": "record_created", "record_type": "contacts"}, [{"type": "stop"}])
    with tenant_session(tenant_b.ref) as session:
        contacts.create(session, {"first_name": "Bea"})
    assert _runs(tenant_a) == [] and _runs(tenant_b) == []


def test_erasing_a_person_deletes_their_runs_and_workflow_emails(tenant_a):
    make_workflow(tenant_a, {"type": "record_created", "record_type": "contacts"}, [{"type": "stop"}])
    with tenant_session(tenant_a.ref) as session:
        contact_id = contacts.create(session, {"first_name": "Ada", "email": "ada@example.org"}).id
    with tenant_session(tenant_a.ref) as session:
        counts = privacy.erase_person(session, DataSubject(contact_id, "ada@example.org"))
    assert counts == {"workflow_emails": 0, "workflow_enrolments": 1}
    assert _runs(tenant_a) == []


def test_a_known_contact_visiting_pages_under_the_path_starts_a_run_and_other_pages_do_not(tenant_a):
    make_workflow(tenant_a, {"type": "website_visited", "path": "/pricing"},
                  [{"type": "create_task", "title": "Looked at prices"}])  # fmt: skip
    visitor, stranger = uuid.uuid4(), uuid.uuid4()
    with tenant_session(tenant_a.ref) as session:
        contact = contacts.create(
            session, {"last_name": "Visitor", "email": f"v-{visitor.hex[:8]}@example.com"}
        )
        visits.identify_visitor(session, visitor, contact.id)
        for who, path in (
            (visitor, "/blog/pricing-news"),
            (visitor, "/pricingplans"),
            (stranger, "/pricing"),
        ):
            visits.record_batch(session, visits.Batch(who, uuid.uuid4(), [_view(path)]))
        session.commit()
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        assert session.scalars(select(Task)).all() == []  # other pages, and a visitor nobody knows
        visits.record_batch(session, visits.Batch(visitor, uuid.uuid4(), [_view("/pricing/teams")]))
        session.commit()
    run_jobs()
    with tenant_session(tenant_a.ref) as session:
        [task] = session.scalars(select(Task)).all()
        assert (task.title, task.contact_id) == ("Looked at prices", contact.id)


def _view(path: str) -> dict:
    return {"occurred_at": visits.now(), "path": path, "title": None, "referrer": None}


def test_a_visit_trigger_needs_a_path_on_the_site(tenant_a):
    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError) as refused:
        definition = {"name": "Bad", "trigger": {"type": "website_visited", "path": "pricing"},
                      "steps": [{"type": "stop"}]}  # fmt: skip
        create_workflow(session, definition, user_id=None, base_url="http://localhost/")
    assert "trigger.path" in refused.value.errors
