"""The jobs that keep the CRM and users' calendars in step.

- ``push_meeting``: writes a meeting scheduled in the CRM to its user's calendar (and mails invitations);
- ``sync_calendar``: reads what changed in one user's calendar since the last sync token and records
  the events whose attendees are contacts, idempotently by UID (a re-run, or the CRM's own events coming
  back, change nothing twice);
- ``sync_all_calendars``: the periodic fan-out, one ``sync_calendar`` job per connected calendar.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from saas.db import TenantRef, TenantSession, tenant_session
from saas.modules.meetings import caldav_access, ical, invitations
from saas.modules.meetings.connections import connection_of, credentials
from saas.modules.meetings.meetings import (
    attend,
    contacts_by_email,
    event_document,
    get_meeting,
    organizer,
    refresh_timeline,
)
from saas.modules.meetings.models import CalendarConnection, Meeting

log = logging.getLogger(__name__)

SYNC_JOB = "saas.modules.meetings.sync.sync_calendar"
SYNC_INTERVAL_SECONDS = 300


def write_to_calendar(session: TenantSession, meeting: Meeting) -> bool:
    """PUT the meeting's event in its user's calendar; False when the user connected none."""
    connection = connection_of(session, meeting.user_id)
    if connection is None:
        return False
    with caldav_access.open_calendar(credentials(connection), connection.calendar_url) as calendar:
        meeting.event_href, meeting.etag = caldav_access.put_event(calendar, event_document(session, meeting))
    meeting.pushed_at = datetime.now(UTC)
    session.flush()
    return True


def push_meeting(session: TenantSession, meeting_id: str, invite: bool = False) -> dict[str, Any]:
    """Job: the CRM's meeting into the user's calendar, then the invitations (each guest once)."""
    meeting = get_meeting(session, uuid.UUID(meeting_id))
    written = write_to_calendar(session, meeting)
    session.commit()  # the event is in the calendar: keep its address even if a mail fails below
    mailed = invitations.send_invitations(session, meeting) if invite else 0
    return {"written": written, "invited": mailed}


def _apply(
    session: TenantSession, connection: CalendarConnection, change: caldav_access.Change, own: set[str]
) -> int:
    if change.data is None:  # deleted in the calendar: the meeting stays on timelines, as cancelled
        meeting = session.scalar(
            select(Meeting).where(Meeting.event_href == change.href, Meeting.user_id == connection.user_id)
        )
        if meeting is None or meeting.cancelled:
            return 0
        meeting.cancelled = True
        refresh_timeline(session, meeting)
        return 1
    recorded = 0
    for event in ical.read_events(change.data):
        meeting = session.scalar(select(Meeting).where(Meeting.uid == event.uid).with_for_update())
        guests = contacts_by_email(
            session, [e for e in (*event.attendees, event.organizer) if e and e not in own]
        )
        if meeting is None:
            if not guests or event.ends_at <= event.starts_at:
                continue  # nobody the CRM knows: the user's private business
            meeting = Meeting(uid=event.uid, user_id=connection.user_id, source="calendar")
            session.add(meeting)
        elif meeting.user_id != connection.user_id:
            continue  # another user's meeting they were invited to: their own sync records it
        meeting.title = (event.title or meeting.title or "Meeting")[:200]
        for name in ("starts_at", "ends_at", "location", "description", "cancelled", "sequence"):
            setattr(meeting, name, getattr(event, name))
        meeting.event_href, meeting.etag = change.href, change.etag
        session.flush()
        for contact_id in guests.values():
            attend(session, meeting, contact_id)
        refresh_timeline(session, meeting)
        recorded += 1
    return recorded


def sync_calendar(session: TenantSession, connection_id: str) -> dict[str, Any]:
    """Job: pull one calendar's changes since its sync token. The connection row is locked for the run,
    so two runs of it never interleave; the token moves only with the changes it covers."""
    connection = session.scalar(
        select(CalendarConnection).where(CalendarConnection.id == uuid.UUID(connection_id)).with_for_update()
    )
    if connection is None:
        return {"skipped": "disconnected"}
    own = {organizer(connection.user_id).email.lower(), connection.username.lower()}
    try:
        with caldav_access.open_calendar(credentials(connection), connection.calendar_url) as calendar:
            changes, token = caldav_access.changes_since(calendar, connection.sync_token)
    except caldav_access.CalendarUnreachable as error:
        connection.last_error = f"{type(error).__name__}: the calendar could not be read."
        return {"failed": type(error).__name__}
    recorded = sum(_apply(session, connection, change, own) for change in changes)
    connection.sync_token = token
    connection.last_synced_at = datetime.now(UTC)
    connection.last_error = None
    return {"changes": len(changes), "recorded": recorded}


def sync_all_calendars() -> dict[str, Any]:
    """Periodic: one sync job per connected calendar of every tenant with the meetings module on."""
    from saas.jobs import enqueue_for_tenant
    from saas.jobs.fanout import for_each_tenant

    def queue_syncs(ref: TenantRef) -> int:
        with tenant_session(ref) as session:
            ids = list(session.scalars(select(CalendarConnection.id)))
        for connection_id in ids:
            enqueue_for_tenant(ref.id, SYNC_JOB, str(connection_id))
        return len(ids)

    report = for_each_tenant("sync_all_calendars", queue_syncs, module="meetings")
    return {"queued": sum(report.results.values()), **report.as_dict()}
