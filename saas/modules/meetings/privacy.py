"""What the meetings module holds on a person, and how it erases them (privacy registry hooks).

A person's meetings are those they attend as a contact; their bookings are those linked to their contact
or made with their email. Erasing removes their attendance (their timeline entries go with the contact),
the meetings no other contact attends, and their bookings.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from saas.modules.meetings.models import Booking, Meeting, MeetingContact
from saas.modules.registry import DataSubject

MEETING_FIELDS = ("title", "description", "location", "starts_at", "ends_at", "source", "cancelled")
BOOKING_FIELDS = (
    "starts_at",
    "ends_at",
    "visitor_name",
    "visitor_email",
    "visitor_time_zone",
    "note",
    "created_at",
)


def _bookings(subject: DataSubject):
    conditions = [Booking.contact_id == subject.contact_id]
    if subject.email:
        conditions.append(func.lower(Booking.visitor_email) == subject.email.lower())
    return or_(*conditions)


def personal_data(session: Session, subject: DataSubject) -> dict:
    meetings = session.scalars(
        select(Meeting)
        .join(MeetingContact)
        .where(MeetingContact.contact_id == subject.contact_id)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    bookings = session.scalars(select(Booking).where(_bookings(subject)).order_by(Booking.starts_at)).all()
    return {
        "meetings": [{name: getattr(m, name) for name in MEETING_FIELDS} for m in meetings],
        "bookings": [{name: getattr(b, name) for name in BOOKING_FIELDS} for b in bookings],
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    theirs = select(MeetingContact.meeting_id).where(MeetingContact.contact_id == subject.contact_id)
    others = select(MeetingContact.meeting_id).where(MeetingContact.contact_id != subject.contact_id)
    bookings = session.execute(delete(Booking).where(_bookings(subject))).rowcount
    # A meeting only with them says who they met and when: it goes. One with others stays, without them.
    meetings = session.execute(
        delete(Meeting).where(Meeting.id.in_(theirs), Meeting.id.not_in(others))
    ).rowcount
    attended = session.execute(
        delete(MeetingContact).where(MeetingContact.contact_id == subject.contact_id)
    ).rowcount
    return {"bookings": bookings, "meetings": meetings, "meeting_contacts": attended}


def retention_keep(cutoff: datetime) -> list[Select]:
    """People with a meeting still to come, or since the cutoff."""
    return [select(MeetingContact.contact_id).join(Meeting).where(Meeting.ends_at >= cutoff)]
