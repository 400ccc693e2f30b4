"""Connecting a user's own calendar over CalDAV: the address, user name and password (kept encrypted,
as SSO client secrets are), checked against the server before they are stored; or the CalDAV endpoint
of the OAuth provider the user's mailbox is connected through, with that mailbox's token."""

from __future__ import annotations

import uuid

from caldav.lib import error as dav_error
from sqlalchemy import select
from sqlalchemy.orm import object_session

from saas.auth.crypto import decrypt_secret, encrypt_secret
from saas.db import TenantSession
from saas.errors import SaasError, ValidationError
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
    if connection.auth_method == "provider":
        return _provider_credentials(object_session(connection), connection)
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
    return _keep(session, user_id, url, username, password, calendar_url, auth_method="password")


def _provider_credentials(session: TenantSession, connection: CalendarConnection) -> Credentials:
    from saas.modules.mailbox.oauth import provider_calendar  # the mailbox module holds the grant

    try:
        caldav_url, address, token = provider_calendar(session, connection.user_id)
    except SaasError as error:
        # As a server refusing us: the sync records it and booking pages offer no slot meanwhile.
        raise dav_error.AuthorizationError(reason=error.detail) from None
    return Credentials(connection.url or caldav_url, address, "", bearer=token)


def calendar_provider_of(session: TenantSession, user_id: uuid.UUID) -> str | None:
    """The label of the OAuth provider whose calendar the user may connect (their mailbox's), if any."""
    from saas.modules.mailbox.oauth import calendar_provider

    provider = calendar_provider(session, user_id)
    return provider.label if provider is not None else None


def connect_provider_calendar(session: TenantSession, user_id: uuid.UUID) -> CalendarConnection:
    """Connect the calendar of the provider the user's mailbox is connected through (its CalDAV endpoint,
    with the mailbox's OAuth token, renewed as the mailbox's is); the first sync is queued on commit."""
    from saas.modules.mailbox.oauth import provider_calendar

    caldav_url, address, token = provider_calendar(session, user_id)
    check_address(caldav_url)
    calendar_url = find_calendar(Credentials(caldav_url, address, "", bearer=token))
    return _keep(session, user_id, caldav_url, address, "", calendar_url, auth_method="provider")


def _keep(
    session: TenantSession,
    user_id: uuid.UUID,
    url: str,
    username: str,
    password: str,
    calendar_url: str,
    *,
    auth_method: str,
) -> CalendarConnection:
    connection = connection_of(session, user_id, for_update=True)
    if connection is None:
        connection = CalendarConnection(user_id=user_id)
        session.add(connection)
    elif connection.calendar_url != calendar_url:
        connection.sync_token = None  # another calendar: its history starts afresh
    connection.url, connection.username, connection.auth_method = url, username, auth_method
    connection.password_encrypted = encrypt_secret(password) if password else ""
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
