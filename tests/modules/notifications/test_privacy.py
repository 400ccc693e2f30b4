"""Erasing a person removes the notifications that name them (about their record, or quoting their email);
others stay. A merged-away contact's notifications lead to the survivor."""

from __future__ import annotations

from sqlalchemy import select

from saas.modules.core.activities import activities
from saas.modules.core.services import contacts
from saas.modules.notifications.models import Notification
from saas.modules.registry import DataSubject, registry


def _note(team, contact_id, text: str) -> None:
    with team.acting(team.owner) as session:
        activities.create(session, {"kind": "note", "subject": text, "contact_id": contact_id})


def _labels(team) -> list[str]:
    with team.acting(None) as session:
        return sorted(session.scalars(select(Notification.record_label)))


def test_erasing_a_person_removes_notifications_about_them_and_keeps_the_others(team):
    with team.acting(team.owner) as session:
        zoe = contacts.create(session, {"first_name": "Zoë", "last_name": "Lee", "email": "zoe@example.com"})
        max_ = contacts.create(session, {"first_name": "Max", "last_name": "Muster"})
    _note(team, zoe.id, f"@{team.ann} call her")
    _note(team, max_.id, f"@{team.ann} he knows zoe@example.com")
    _note(team, max_.id, f"@{team.bob} unrelated")
    hook = registry.get("notifications").erase_person
    with team.acting(None) as session:
        assert hook(session, DataSubject(zoe.id, "zoe@example.com")) == {"notifications": 2}
        assert hook(session, DataSubject(zoe.id, "zoe@example.com")) == {"notifications": 0}
    assert _labels(team) == ["Max Muster"]


def test_a_merged_away_contacts_notifications_lead_to_the_survivor(team):
    with team.acting(team.owner) as session:
        kept = contacts.create(session, {"first_name": "Zoë", "last_name": "Lee"})
        gone = contacts.create(session, {"first_name": "Zoe", "last_name": "Lee"})
    _note(team, gone.id, f"@{team.ann} look")
    with team.acting(None) as session:
        moved = registry.get("notifications").merge_records(session, "contact", kept.id, gone.id)
        assert moved == {"notifications": 1}
        assert session.scalars(select(Notification.record_id)).all() == [kept.id]
