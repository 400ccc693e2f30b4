"""Meetings: a user's own calendar connected over CalDAV, meetings with contacts synced both ways onto
their timelines, invitations as iCalendar mail, and public booking links."""
