"""Meetings with contacts: scheduled in the CRM, found in a user's calendar or booked on their link.

A meeting is one iCalendar event (``uid``); each contact at it gets an entry of kind ``meeting`` on their
timeline, kept in step when the event moves. Scheduling queues the job that writes the event to the
user's calendar and mails the invitations once the transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.jobs import enqueue_after_commit
from saas.modules.core.activities import activities
from saas.modules.core.models import Activity, Contact
from saas.modules.meetings import ical
from saas.modules.meetings.models import Meeting, MeetingContact

PUSH_JOB = "saas.modules.meetings.sync.push_meeting"
MAX_MINUTES = 24 * 60


def new_uid() -> str:
    return f"{uuid.uuid4()}@saas-crm"


def platform_user(user_id: uuid.UUID):
    """The platform ``User`` a meeting or link belongs to (read with the platform session), or None."""
    from saas.auth.models import User

    return db.session.get(User, user_id)


def active_members(tenant_id: str, user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Of these users, those still active members of the workspace: a booking link of someone who left
    offers nothing."""
    from saas.auth.models import Membership, User

    return set(
        db.session.scalars(
            select(Membership.user_id)
            .join(User)
            .where(
                Membership.tenant_id == tenant_id,
                Membership.user_id.in_(list(user_ids)),
                Membership.deactivated_at.is_(None),
                User.is_active_flag,
            )
        )
    )


def organizer(user_id: uuid.UUID) -> ical.Person:
    """The user a meeting belongs to, as its organiser."""
    user = platform_user(user_id)
    if user is None:
        raise NotFound("No such user.")
    return ical.Person(user.email)


def attendees(meeting: Meeting, session: TenantSession) -> list[tuple[Contact, MeetingContact]]:
    contacts = {
        contact.id: contact
        for contact in session.scalars(
            select(Contact).where(Contact.id.in_([a.contact_id for a in meeting.attendees]))
        )
    }
    return [(contacts[a.contact_id], a) for a in meeting.attendees if a.contact_id in contacts]


def event_document(session: TenantSession, meeting: Meeting, *, method: str | None = None) -> bytes:
    """The meeting as an iCalendar document: the calendar's copy, or with ``method`` an iTIP message."""
    guests = [ical.Person(c.email, c.display_name) for c, _ in attendees(meeting, session) if c.email]
    return ical.meeting_calendar(
        uid=meeting.uid,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        organizer=organizer(meeting.user_id),
        attendees=guests,
        description=meeting.description,
        location=meeting.location,
        sequence=meeting.sequence,
        method=method,
    )


def _entry_text(meeting: Meeting) -> dict[str, Any]:
    subject = meeting.title if not meeting.cancelled else f"{meeting.title} (cancelled)"
    return {"subject": subject[:200], "body": meeting.description, "occurred_at": meeting.starts_at}


def attend(session: TenantSession, meeting: Meeting, contact_id: uuid.UUID) -> MeetingContact:
    """Put ``contact_id`` at the meeting and the meeting on their timeline (once)."""
    for present in meeting.attendees:
        if present.contact_id == contact_id:
            return present
    entry = activities.create(session, {"kind": "meeting", "contact_id": contact_id, **_entry_text(meeting)})
    present = MeetingContact(contact_id=contact_id, activity_id=entry.id)
    meeting.attendees.append(present)
    session.flush()
    return present


def refresh_timeline(session: TenantSession, meeting: Meeting) -> None:
    """Keep the contacts' timeline entries in step with the meeting (moved, renamed, cancelled)."""
    ids = [a.activity_id for a in meeting.attendees if a.activity_id]
    for entry in session.scalars(select(Activity).where(Activity.id.in_(ids))):
        for name, value in _entry_text(meeting).items():
            setattr(entry, name, value)


def _minutes(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = 0
    if not 5 <= minutes <= MAX_MINUTES:
        raise ValidationError(
            N_("A meeting lasts 5 minutes to a day."), {"minutes": [N_("5 to 1440 minutes.")]}
        )
    return minutes


def schedule_meeting(session: TenantSession, user_id: uuid.UUID, data: dict[str, Any]) -> Meeting:
    """A meeting of ``user_id`` with a contact, from the CRM: on the contact's timeline now, in the
    user's calendar (and the contact's inbox with ``invite``) once the transaction commits."""
    if user_id is None:
        raise ValidationError("Meetings are a user's: use a token of a user, not of a client.")
    contact = session.get(Contact, data.get("contact_id")) if data.get("contact_id") else None
    if contact is None:
        raise ValidationError(N_("Unknown contact."), {"contact_id": ["No contact with this id."]})
    title = (data.get("title") or "").strip()
    if not title:
        raise ValidationError(N_("Give the meeting a title."), {"title": ["Required."]})
    starts_at = data.get("starts_at")
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationError(
            N_("Give the meeting's start with its time zone."), {"starts_at": ["Required."]}
        )
    invite = bool(data.get("invite"))
    if invite and not contact.email:
        raise ValidationError(
            N_("This contact has no email to invite."), {"invite": ["The contact has no email."]}
        )
    meeting = Meeting(
        uid=new_uid(),
        user_id=user_id,
        title=title[:200],
        description=(data.get("description") or "").strip() or None,
        location=(data.get("location") or "").strip()[:500] or None,
        starts_at=starts_at.astimezone(UTC),
        ends_at=starts_at.astimezone(UTC) + timedelta(minutes=_minutes(data.get("minutes", 30))),
        source="crm",
    )
    session.add(meeting)
    session.flush()
    attend(session, meeting, contact.id)
    enqueue_after_commit(session, PUSH_JOB, str(meeting.id), invite)
    return meeting


def get_meeting(session: TenantSession, meeting_id: uuid.UUID) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("No such meeting.")
    return meeting


def meetings_of_contact(session: TenantSession, contact_id: uuid.UUID, limit: int = 20) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .join(MeetingContact)
            .where(MeetingContact.contact_id == contact_id)
            .order_by(Meeting.starts_at.desc(), Meeting.id)
            .limit(limit)
        )
    )


def list_meetings(
    session: TenantSession, *, contact_id: uuid.UUID | None = None, limit: int = 100
) -> list[Meeting]:
    query = select(Meeting).order_by(Meeting.starts_at.desc(), Meeting.id).limit(limit)
    if contact_id is not None:
        query = query.join(MeetingContact).where(MeetingContact.contact_id == contact_id)
    return list(session.scalars(query))


def contacts_by_email(session: TenantSession, emails: list[str]) -> dict[str, uuid.UUID]:
    """The oldest contact of each of these addresses (lower-cased)."""
    if not emails:
        return {}
    found: dict[str, uuid.UUID] = {}
    rows = session.execute(
        select(func.lower(Contact.email), Contact.id)
        .where(func.lower(Contact.email).in_([e.lower() for e in emails]))
        .order_by(Contact.created_at, Contact.id)
    )
    for email, contact_id in rows:
        found.setdefault(email, contact_id)
    return found
