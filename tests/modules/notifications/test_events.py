"""Notifications from what other modules do, heard through their events: a record given to someone, their
deal moving stage, a ticket of theirs about to breach its SLA, their import finishing. The member who acts
is never told of their own action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saas.modules.core import imports
from saas.modules.notifications.services import list_for
from saas.modules.service import sla
from saas.modules.service.models import Ticket
from saas.modules.service.tickets import tickets
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Stage


def _kinds(team, email: str) -> list[tuple[str, str]]:
    with team.acting(None) as session:
        return [(row.kind, row.record_label) for row in list_for(session, team.id_of(email)).data]


def test_giving_a_deal_or_ticket_to_a_colleague_notifies_them_and_not_the_one_who_gave_it(team):
    with team.acting(team.owner) as session:
        deal = deals.create(session, {"name": "Big one", "owner_user_id": team.id_of(team.ann)})
        deals.update(session, deal.id, {"owner_user_id": team.id_of(team.bob)})
        deals.update(session, deal.id, {"name": "Bigger one"})  # no owner change: nobody is told
        ticket = tickets.create(session, {"subject": "Printer on fire"})
        tickets.update(session, ticket.id, {"assignee_user_id": team.id_of(team.ann)})
    with team.acting(team.bob) as session:
        deals.update(session, deal.id, {"owner_user_id": team.id_of(team.bob)})  # unchanged
        mine = deals.create(session, {"name": "Mine", "owner_user_id": team.id_of(team.bob)})  # own action
    assert sorted(_kinds(team, team.ann)) == [("assigned", "Big one"), ("assigned", "Printer on fire")]
    assert _kinds(team, team.bob) == [("assigned", "Big one")]  # named as it was then
    assert mine.owner_user_id == team.id_of(team.bob)


def test_records_handed_out_by_an_import_or_a_job_tell_nobody(team):
    with team.acting(None) as session:  # nobody acting: an import's or a job's unit of work
        deal = deals.create(session, {"name": "Imported", "owner_user_id": team.id_of(team.ann)})
        deals.update(session, deal.id, {"owner_user_id": team.id_of(team.bob)})
    assert _kinds(team, team.ann) == [] and _kinds(team, team.bob) == []


def test_a_deal_moving_stage_tells_its_owner_unless_they_moved_it(team):
    with team.acting(team.ann) as session:
        deal = deals.create(session, {"name": "Moving", "owner_user_id": team.id_of(team.ann)})
        stages = (
            session.query(Stage).filter(Stage.pipeline_id == deal.pipeline_id).order_by(Stage.position).all()
        )
        deals.move(session, deal.id, stages[1].id)  # by its owner: nobody told
    with team.acting(team.owner) as session:
        deals.move(session, deal.id, stages[2].id)
        stage_name = stages[2].name
    with team.acting(None) as session:
        [row] = list_for(session, team.id_of(team.ann)).data
        assert (row.kind, row.record_type, row.record_id) == ("deal_moved", "deals", deal.id)
        assert row.details["stage"] == stage_name and row.details["actor"] == team.owner


def test_a_ticket_about_to_breach_tells_its_assignee_once_however_often_the_job_runs(team):
    with team.acting(team.owner) as session:
        ticket = tickets.create(session, {"subject": "Urgent", "assignee_user_id": team.id_of(team.ann)})
        quiet = tickets.create(session, {"subject": "Calm", "assignee_user_id": team.id_of(team.bob)})
        due = datetime(2031, 3, 4, 12, tzinfo=UTC)
        ticket.first_response_due_at, ticket.resolution_due_at = due, due + timedelta(days=3)
        quiet.first_response_due_at, quiet.resolution_due_at = (
            due + timedelta(days=2),
            due + timedelta(days=5),
        )
    for hours_before in (24, 2, 1):
        with team.acting(None) as session:
            sla.mark_breaches(session, due - timedelta(hours=hours_before))
    warnings = [(kind, label) for kind, label in _kinds(team, team.ann) if kind == "sla_at_risk"]
    assert warnings == [("sla_at_risk", "Urgent")]
    assert ("sla_at_risk", "Calm") not in _kinds(team, team.bob)  # due two days later
    with team.acting(None) as session:
        assert session.get(Ticket, ticket.id).first_response_breached is False


def test_a_finished_import_tells_whoever_started_it_with_a_link_to_its_page(team):
    content = b"First name,Last name,Email\nZo\xc3\xab,Lee,zoe@example.com\n"
    with team.acting(team.ann) as session:
        job = imports.create_import(session, entity="contacts", filename="people.csv", content=content)
        imports.start_import(session, job.id)
    with team.acting(None) as session:  # the job: nobody acting
        imports.run_import(session, str(job.id))
    with team.acting(None) as session:
        [row] = list_for(session, team.id_of(team.ann)).data
        assert (row.kind, row.record_label, row.details["imported_rows"]) == (
            "import_finished",
            "people.csv",
            1,
        )
        assert row.details["page"]["job_id"] == str(job.id)
    assert _kinds(team, team.owner) == []
