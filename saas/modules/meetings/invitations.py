"""Meeting mail: invitations and booking confirmations as iTIP ``METHOD:REQUEST`` messages (RFC 6047):
a text part, the same event as ``text/calendar; method=REQUEST`` beside it (what mail clients show as
an invitation with accept/decline), and the ``.ics`` attached for those that only import files.

Each recipient reads it in their language and time zone."""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app
from flask_babel import gettext

from saas.db import TenantSession
from saas.i18n import DEFAULT_TIME_ZONE, current_locale, in_locale
from saas.mail import mail_enabled, smtp_connection
from saas.modules.meetings.meetings import attendees, event_document, organizer, platform_user
from saas.modules.meetings.models import Booking, BookingSettings, Meeting

log = logging.getLogger(__name__)


def when(meeting: Meeting, zone: str) -> str:
    """The meeting's start in ``zone`` and the current locale, with the zone's name."""
    start = format_datetime(meeting.starts_at, "full", tzinfo=ZoneInfo(zone), locale=current_locale())
    return f"{start} ({zone})"


def calendar_message(
    to: str, subject: str, text: str, document: bytes, *, reply_to: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM", "no-reply@localhost")
    message["To"] = to
    message["Subject"] = subject
    if reply_to:  # answers go to the meeting's organiser, not the no-reply sender
        message["Reply-To"] = reply_to
    message.set_content(text)
    message.add_alternative(document.decode(), subtype="calendar", params={"method": "REQUEST"})
    message.add_attachment(document, maintype="application", subtype="ics", filename="invite.ics")
    return message


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    if not mail_enabled():
        log.warning("mail is disabled (no SMTP_URL); %d meeting messages were not sent", len(messages))
        return 0
    with smtp_connection() as smtp:
        for message in messages:
            smtp.send_message(message)
    return len(messages)


def _invitation(
    session: TenantSession, meeting: Meeting, to: str, locale: str | None, zone: str, reply_to: str | None
) -> EmailMessage:
    document = event_document(session, meeting, method="REQUEST")
    with in_locale(locale):
        subject = gettext("Invitation: %(title)s", title=meeting.title)
        lines = [
            gettext("You are invited to %(title)s.", title=meeting.title),
            gettext("When: %(when)s", when=when(meeting, zone)),
        ]
        if meeting.location:
            lines.append(gettext("Where: %(location)s", location=meeting.location))
        if meeting.description:
            lines += ["", meeting.description]
        return calendar_message(to, subject, "\n".join(lines) + "\n", document, reply_to=reply_to)


def send_invitations(session: TenantSession, meeting: Meeting) -> int:
    """Mail every contact at the meeting an invitation; returns how many were sent."""
    host = organizer(meeting.user_id).email
    zone = _user_zone(session, meeting.user_id)
    messages = [
        _invitation(session, meeting, contact.email, contact.preferred_locale, zone, host)
        for contact, _ in attendees(meeting, session)
        if contact.email
    ]
    return _send(messages)


def _user_zone(session: TenantSession, user_id: uuid.UUID) -> str:
    """The zone the user reads meeting times in: their booking link's, their own, else UTC."""
    settings = session.get(BookingSettings, user_id)
    if settings is not None:
        return settings.time_zone
    user = platform_user(user_id)
    return (user.time_zone if user is not None else None) or DEFAULT_TIME_ZONE


def send_booking_confirmations(session: TenantSession, booking_id: str) -> dict[str, Any]:
    """Job: the booking's confirmation to the visitor (their language and zone) and to the user."""
    booking = session.get(Booking, uuid.UUID(booking_id))
    if booking is None or booking.meeting_id is None:
        return {"skipped": "no booking"}
    meeting = session.get(Meeting, booking.meeting_id)
    host = organizer(booking.user_id)
    zone = _user_zone(session, booking.user_id)
    to_visitor = _invitation(
        session, meeting, booking.visitor_email, booking.locale, booking.visitor_time_zone, host.email
    )
    document = event_document(session, meeting, method="REQUEST")
    user = platform_user(booking.user_id)
    with in_locale(user.locale if user is not None else None):
        to_user = calendar_message(
            host.email,
            gettext("New booking: %(name)s", name=booking.visitor_name),
            "\n".join(
                [
                    gettext(
                        "%(name)s <%(email)s> booked %(title)s.",
                        name=booking.visitor_name,
                        email=booking.visitor_email,
                        title=meeting.title,
                    ),
                    gettext("When: %(when)s", when=when(meeting, zone)),
                    *(["", booking.note] if booking.note else []),
                ]
            )
            + "\n",
            document,
            reply_to=booking.visitor_email,
        )
    return {"sent": _send([to_visitor, to_user])}
