"""``@name`` in a note or an internal ticket note notifies the active members it names, once each: never
its author, never someone outside the workspace, never a deactivated member."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.members import set_active
from saas.auth.models import Membership
from saas.db import db
from saas.modules.core.activities import activities
from saas.modules.core.services import contacts
from saas.modules.notifications.models import Notification
from saas.modules.notifications.services import list_for
from saas.modules.service.tickets import add_staff_message, tickets
from tests.modules.notifications.conftest import make_team


def _contact(team):
    with team.acting(team.owner) as session:
        return contacts.create(session, {"first_name": "Zoë", "last_name": "Lee"}).id


def _note(team, author: str, body: str, contact_id, kind: str = "note") -> None:
    with team.acting(author) as session:
        activities.create(
            session, {"kind": kind, "subject": "Call notes", "body": body, "contact_id": contact_id}
        )


def _rows(team, email: str) -> list[Notification]:
    with team.acting(None) as session:
        return list_for(session, team.id_of(email)).data


def test_a_note_mentioning_a_colleague_by_name_or_email_notifies_them_once_linking_to_the_record(team):
    contact_id = _contact(team)
    ann_name = team.ann.split("@")[0]
    _note(
        team, team.owner, f"@{ann_name} can you call her? cc @{team.bob}, and @{ann_name} again.", contact_id
    )
    [to_ann] = _rows(team, team.ann)
    assert (to_ann.kind, to_ann.record_type, to_ann.record_id) == ("mentioned", "contacts", contact_id)
    assert to_ann.record_label == "Zoë Lee" and to_ann.details["actor"] == team.owner
    assert "can you call her" in to_ann.excerpt and to_ann.read_at is None
    assert [row.kind for row in _rows(team, team.bob)] == ["mentioned"]


def test_the_author_of_a_note_is_not_notified_of_their_own_mention(team):
    contact_id = _contact(team)
    _note(team, team.ann, f"Note to self, @{team.ann}; and @{team.bob}.", contact_id)
    assert _rows(team, team.ann) == []
    assert len(_rows(team, team.bob)) == 1


def test_mentions_of_non_members_email_addresses_and_other_kinds_of_entry_notify_nobody(team, make_tenant):
    stranger = make_team(make_tenant("gamma"))  # members of another workspace
    contact_id = _contact(team)
    _note(
        team,
        team.owner,
        f"@{stranger.ann} @{stranger.ann.split('@')[0]} @nobody write to x@{team.ann}",
        contact_id,
    )
    _note(team, team.owner, f"@{team.ann}", contact_id, kind="call")  # a logged call quotes, does not notify
    assert _rows(team, team.ann) == [] and _rows(stranger, stranger.ann) == []
    with team.acting(None) as session:
        assert session.scalars(select(Notification)).all() == []


def test_a_deactivated_member_is_not_notified(team):
    owner = db.session.scalar(
        select(Membership).where(Membership.tenant_id == team.tenant.tenant.id, Membership.role == "owner")
    )
    ann = db.session.scalar(
        select(Membership).where(
            Membership.tenant_id == team.tenant.tenant.id, Membership.user_id == team.id_of(team.ann)
        )
    )
    set_active(db.session, owner, ann.id, False)
    db.session.commit()
    _note(team, team.owner, f"@{team.ann} @{team.bob}", _contact(team))
    assert _rows(team, team.ann) == []
    assert len(_rows(team, team.bob)) == 1


def test_an_ambiguous_name_needs_the_whole_email(team, tenant_a):
    from saas.auth.services import add_member
    from tests.conftest import PASSWORD

    other_ann = team.ann.replace("@example.com", "@example.net")  # the same name before the @
    add_member(db.session, tenant_a.tenant.id, other_ann, PASSWORD, "member", actor="test")
    db.session.commit()
    _note(team, team.owner, f"@{team.ann.split('@')[0]}", _contact(team))
    assert _rows(team, team.ann) == [] and _rows(team, other_ann) == []
    _note(team, team.owner, f"@{other_ann}", _contact(team))
    assert _rows(team, team.ann) == [] and len(_rows(team, other_ann)) == 1


def test_an_internal_ticket_note_notifies_its_mentions_and_a_public_reply_does_not(team):
    with team.acting(team.owner) as session:
        ticket_id = tickets.create(session, {"subject": "Printer on fire"}).id
    with team.acting(team.owner) as session:
        add_staff_message(session, ticket_id, f"@{team.ann} please take this", kind="note")
        add_staff_message(session, ticket_id, f"Our @{team.bob} will call you", kind="public")
    [to_ann] = _rows(team, team.ann)
    assert (to_ann.record_type, to_ann.record_id, to_ann.record_label) == (
        "tickets",
        ticket_id,
        "Printer on fire",
    )
    assert _rows(team, team.bob) == []


def test_a_mention_in_a_note_on_a_deal_links_to_the_deal(team):
    from saas.modules.sfa.deals import deal_activities, deals

    with team.acting(team.owner) as session:
        account_id = _account_id(session)
        deal = deals.create(session, {"name": "Fleet renewal", "account_id": account_id})
        deal_activities.create(
            session, {"kind": "note", "subject": f"@{team.ann} price check", "deal_id": deal.id}
        )
    [to_ann] = _rows(team, team.ann)
    assert (to_ann.record_type, to_ann.record_id, to_ann.record_label) == ("deals", deal.id, "Fleet renewal")


def _account_id(session):
    from saas.modules.core.services import accounts

    return accounts.create(session, {"name": "Acme"}).id
