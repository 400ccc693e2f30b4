"""``/api/v1/service/sla-policies`` and ``/api/v1/service/calendar``: SLA targets, business hours and
holidays."""

from __future__ import annotations

from datetime import date

from saas.api import token_auth
from saas.modules.service import admin, sla
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import api
from saas.tenants.routing import current_tenant_session

auth = api.auth_required(token_auth)


@api.get("/service/sla-policies")
@auth
@api.output(s.PolicyList)
@api.doc(summary="SLA targets per priority, in business minutes")
def list_policies():
    return {"data": sla.list_policies(current_tenant_session())}


@api.put("/service/sla-policies/<priority>")
@auth
@api.input(s.PolicyIn)
@api.output(s.PolicyOut)
@api.doc(
    summary="Set a priority's targets (owners and admins); open tickets' due times follow",
    responses=[403, 422],
)
def set_policy(priority: str, json_data):
    return admin.set_policy(
        current_tenant_session(),
        priority,
        json_data["first_response_minutes"],
        json_data["resolution_minutes"],
    )


def _calendar(session) -> dict:
    row = sla.calendar_row(session)
    return {
        "timezone": row.timezone,
        "work_days": row.work_days,
        "start_minute": row.start_minute,
        "end_minute": row.end_minute,
        "holidays": sla.list_holidays(session),
    }


@api.get("/service/calendar")
@auth
@api.output(s.CalendarOut)
@api.doc(summary="Business hours and holidays the SLA clocks run on")
def get_calendar():
    return _calendar(current_tenant_session())


@api.patch("/service/calendar")
@auth
@api.input(s.CalendarIn)
@api.output(s.CalendarOut)
@api.doc(summary="Change business hours (owners and admins)", responses=[403, 422])
def update_calendar(json_data):
    session = current_tenant_session()
    admin.update_calendar(session, json_data)
    return _calendar(session)


@api.put("/service/calendar/holidays/<string:day>")
@auth
@api.input(s.HolidayIn)
@api.output(s.CalendarOut)
@api.doc(summary="Add a holiday (YYYY-MM-DD; owners and admins)", responses=[403, 422])
def add_holiday(day: str, json_data):
    session = current_tenant_session()
    admin.add_holiday(session, _day(day), json_data["name"])
    return _calendar(session)


@api.delete("/service/calendar/holidays/<string:day>")
@auth
@api.output(s.CalendarOut)
@api.doc(summary="Remove a holiday (owners and admins)", responses=[403, 422])
def remove_holiday(day: str):
    session = current_tenant_session()
    admin.remove_holiday(session, _day(day))
    return _calendar(session)


def _day(text: str) -> date:
    from saas.errors import ValidationError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("A day is YYYY-MM-DD.", {"day": ["YYYY-MM-DD"]}) from None
