"""API resources /api/v1/meetings: list meetings (of a contact), read one, schedule one with a contact
(written to the token's user's calendar, with an invitation if asked)."""

from __future__ import annotations

import uuid

from marshmallow import Schema, fields, validate

from saas.api import token_auth
from saas.modules.core.activities import acting_user_id
from saas.modules.core.schemas import list_of
from saas.modules.meetings import meetings
from saas.modules.meetings.blueprints import api
from saas.tenants.routing import current_tenant_session


class MeetingIn(Schema):
    contact_id = fields.UUID(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "With its UTC offset."})
    minutes = fields.Integer(load_default=30, validate=validate.Range(min=5, max=1440))
    location = fields.String(load_default=None, validate=validate.Length(max=500))
    description = fields.String(load_default=None)
    invite = fields.Boolean(
        load_default=False, metadata={"description": "Mail the contact an iCalendar invitation."}
    )


class MeetingQuery(Schema):
    contact_id = fields.UUID(load_default=None)


class MeetingOut(Schema):
    id = fields.UUID()
    uid = fields.String(metadata={"description": "The event's iCalendar UID, the same in the calendar."})
    user_id = fields.UUID()
    title = fields.String()
    description = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    source = fields.String(metadata={"description": "crm, calendar or booking."})
    cancelled = fields.Boolean()
    contact_ids = fields.Method("_contact_ids")

    def _contact_ids(self, meeting) -> list[str]:
        return [str(a.contact_id) for a in meeting.attendees]


@api.get("/meetings")
@api.auth_required(token_auth)
@api.input(MeetingQuery, location="query")
@api.output(list_of(MeetingOut))
@api.doc(
    summary="List meetings", description="Newest first, at most 100; `contact_id` narrows to one contact's."
)
def list_meetings(query_data: dict):
    return {"data": meetings.list_meetings(current_tenant_session(), contact_id=query_data["contact_id"])}


@api.get("/meetings/<uuid:meeting_id>")
@api.auth_required(token_auth)
@api.output(MeetingOut)
@api.doc(summary="Get a meeting", responses=[404])
def get_meeting(meeting_id: uuid.UUID):
    return meetings.get_meeting(current_tenant_session(), meeting_id)


@api.post("/meetings")
@api.auth_required(token_auth)
@api.input(MeetingIn)
@api.output(MeetingOut, status_code=201)
@api.doc(
    summary="Schedule a meeting with a contact",
    description="On the contact's timeline at once; written to the token user's connected calendar, and "
    "the invitation mailed, by a job right after.",
    responses=[422],
)
def create_meeting(json_data: dict):
    session = current_tenant_session()
    return meetings.schedule_meeting(session, acting_user_id(session), json_data)
