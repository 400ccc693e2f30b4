"""Connecting a user's own calendar over CalDAV: the address, user name and password (kept encrypted,
as SSO client secrets are), checked against the server before they are stored."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.auth.crypto import decrypt_secret, encrypt_secret
from saas.db import TenantSession
from saas.errors import ValidationError
from saas.i18n import N_
from saas.jobs import enqueue_after_commit
from saas.modules.meetings.caldav_access import Credentials, check_address, find_calendar
from saas.modules.meetings.models import CalendarConnection

SYNC_JOB = "saas.modules.meetings.sync.sync_calendar"


def connection_of(
    session: TenantSession, user_id: uuid.UUID, *, for_update: bool = False
) -> CalendarConnection | None:
    query = select(CalendarConnection).where(CalendarConnection.user_id == user_id)
    return session.scalar(query.with_for_update() if for_update else query)


def credentials(connection: CalendarConnection) -> Credentials:
    if not connection.password_encrypted:  # came with an archive, which carries no password
        raise ValidationError(
            "Enter the calendar's password again.",
            {"password": [N_("Enter the calendar's password again: it did not come with the archive.")]},
        )
    return Credentials(connection.url, connection.username, decrypt_secret(connection.password_encrypted))


def connect_calendar(
    session: TenantSession, user_id: uuid.UUID, url: str, username: str, password: str
) -> CalendarConnection:
    """Find the calendar with these credentials and keep them (replacing the user's earlier ones); the
    first sync is queued for when this transaction commits."""
    url, username = (url or "").strip(), (username or "").strip()
    if not url or not username or not password:
        raise ValidationError(
            N_("Give the calendar's address, user name and password."),
            {
                name: [N_("Required.")]
                for name, value in (("url", url), ("username", username), ("password", password))
                if not value
            },
        )
    check_address(url)
    given = Credentials(url, username, password)
    calendar_url = find_calendar(given)
    connection = connection_of(session, user_id, for_update=True)
    if connection is None:
        connection = CalendarConnection(user_id=user_id)
        session.add(connection)
    elif connection.calendar_url != calendar_url:
        connection.sync_token = None  # another calendar: its history starts afresh
    connection.url, connection.username = url, username
    connection.password_encrypted = encrypt_secret(password)
    connection.calendar_url = calendar_url
    connection.last_error = None
    session.flush()
    enqueue_after_commit(session, SYNC_JOB, str(connection.id))
    return connection


def disconnect_calendar(session: TenantSession, user_id: uuid.UUID) -> bool:
    """Forget the credentials; meetings already on timelines stay. False when nothing was connected."""
    connection = connection_of(session, user_id, for_update=True)
    if connection is None:
        return False
    session.delete(connection)
    session.flush()
    return True
