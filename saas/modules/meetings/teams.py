"""Team booking links: one link for several users. It offers every slot some member with an open booking
link of their own has free (each by their own hours, length and calendar), and gives a booking to a
member free then: the one with the fewest bookings to come, so the work is shared."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.meetings.booking import HANDLE, book_slot, offered_slots
from saas.modules.meetings.meetings import active_members
from saas.modules.meetings.models import Booking, BookingSettings, BookingTeam, BookingTeamMember


def list_teams(session: TenantSession) -> list[BookingTeam]:
    return list(session.scalars(select(BookingTeam).order_by(BookingTeam.handle)))


def save_team(
    session: TenantSession,
    data: dict[str, Any],
    members: Collection[uuid.UUID],
    workspace: Collection[uuid.UUID],
) -> BookingTeam:
    """Create a team link (or change the one with ``data["id"]``); ``members`` must be of ``workspace``
    (the workspace's members' user ids)."""
    errors: dict[str, list[str]] = {}
    handle = (data.get("handle") or "").strip().lower()
    team = get_team(session, data["id"]) if data.get("id") else BookingTeam()
    if not HANDLE.match(handle):
        errors["handle"] = [N_("2 to 40 lower-case letters, digits and dashes.")]
    elif session.scalar(
        select(BookingSettings.user_id).where(BookingSettings.handle == handle)
    ) or session.scalar(
        select(BookingTeam.id).where(BookingTeam.handle == handle, BookingTeam.id != team.id)
    ):
        errors["handle"] = [N_("This name is taken in the workspace.")]
    chosen = set(members)
    if not chosen or not chosen <= set(workspace):
        errors["members"] = [N_("Choose the team's members.")]
    if errors:
        raise ValidationError(N_("Check the team link."), errors)
    team.handle, team.enabled = handle, bool(data.get("enabled", True))
    team.title = ((data.get("title") or "").strip() or "Meeting")[:200]
    team.members = [BookingTeamMember(user_id=user_id) for user_id in sorted(chosen)]
    session.add(team)
    session.flush()
    return team


def get_team(session: TenantSession, team_id: uuid.UUID) -> BookingTeam:
    team = session.get(BookingTeam, team_id)
    if team is None:
        raise NotFound("No such team link.")
    return team


def delete_team(session: TenantSession, team_id: uuid.UUID) -> None:
    session.delete(get_team(session, team_id))
    session.flush()


def team_for_handle(session: TenantSession, handle: str) -> BookingTeam | None:
    return session.scalar(
        select(BookingTeam).where(BookingTeam.handle == handle.lower(), BookingTeam.enabled)
    )


def _member_links(session: TenantSession, team: BookingTeam) -> list[BookingSettings]:
    """The members' own open booking links: whose hours and calendars the team offers."""
    ids = active_members(session.tenant.id, [member.user_id for member in team.members])
    return list(
        session.scalars(
            select(BookingSettings).where(BookingSettings.user_id.in_(ids), BookingSettings.enabled)
        )
    )


def team_slots(
    session: TenantSession, team: BookingTeam, now: datetime | None = None
) -> dict[datetime, list]:
    """Every slot start (UTC) some member has free, with the members' links free then."""
    free: dict[datetime, list[BookingSettings]] = {}
    for link in _member_links(session, team):
        for start in offered_slots(session, link, now):
            free.setdefault(start, []).append(link)
    return dict(sorted(free.items()))


def _upcoming_bookings(session: TenantSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = session.execute(
        select(Booking.user_id, func.count())
        .where(Booking.user_id.in_(user_ids), Booking.starts_at >= datetime.now(UTC))
        .group_by(Booking.user_id)
    )
    return dict(rows.all())


def book_team_slot(
    session: TenantSession,
    team: BookingTeam,
    starts_at: datetime,
    data: dict[str, Any],
    *,
    locale: str | None,
) -> Booking:
    """Book the slot with the least busy member free then; the next one if that member was just taken."""
    starts_at = starts_at.astimezone(UTC)
    free = team_slots(session, team).get(starts_at, [])
    load = _upcoming_bookings(session, [link.user_id for link in free])
    for link in sorted(free, key=lambda link: (load.get(link.user_id, 0), str(link.user_id))):
        try:
            with session.begin_nested():
                return book_slot(session, link, starts_at, data, locale=locale)
        except Conflict:
            continue  # another visitor got this member's slot meanwhile: try the next member
    raise Conflict(N_("This time is no longer free. Please choose another."))
