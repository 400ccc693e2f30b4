"""API resources of the service module under /api/v1: tickets with their thread and history, queues,
SLA policies and calendar, knowledge base."""

from __future__ import annotations

import uuid
from datetime import date

from flask import g

from saas.api import token_auth
from saas.modules.core import custom_fields
from saas.modules.core.api.records import services_page
from saas.modules.service import admin, kb, macros, queues, sla
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import api
from saas.modules.service.tickets import ENTITY, add_staff_message, list_history, list_messages, tickets
from saas.tenants.routing import current_tenant_session

auth = api.auth_required(token_auth)


@api.get("/tickets")
@auth
@api.input(s.TicketListQuery, location="query")
@api.output(s.TicketPage)
@api.doc(summary="List tickets", description="Newest first, cursor-paginated; `q` searches subject and text.")
def list_tickets(query_data):
    session = current_tenant_session()
    where = custom_fields.filter_conditions(session, ENTITY, query_data.pop("custom", None))
    page = tickets.list(session, me=g.membership.user_id, where=where, **query_data)
    custom_fields.annotate(session, ENTITY, page.data)
    return services_page(page)


def _annotated(session, ticket):
    custom_fields.annotate(session, ENTITY, [ticket])
    return ticket


@api.post("/tickets")
@auth
@api.input(s.TicketIn)
@api.output(s.TicketOut, status_code=201)
@api.doc(summary="Open a ticket", responses=[422])
def create_ticket(json_data):
    session = current_tenant_session()
    return _annotated(session, tickets.create(session, json_data))


@api.get("/tickets/<uuid:ticket_id>")
@auth
@api.output(s.TicketOut)
@api.doc(summary="Read a ticket", responses=[404])
def get_ticket(ticket_id: uuid.UUID):
    session = current_tenant_session()
    return _annotated(session, tickets.get(session, ticket_id))


@api.patch("/tickets/<uuid:ticket_id>")
@auth
@api.input(s.TicketChange)
@api.output(s.TicketOut)
@api.doc(summary="Change a ticket (status, priority, assignee, queue, tags...)", responses=[404, 409, 422])
def update_ticket(ticket_id: uuid.UUID, json_data):
    session = current_tenant_session()
    return _annotated(session, tickets.update(session, ticket_id, json_data))


@api.get("/tickets/<uuid:ticket_id>/messages")
@auth
@api.output(s.MessageList)
@api.doc(summary="A ticket's thread: public replies and internal notes", responses=[404])
def ticket_messages(ticket_id: uuid.UUID):
    return {"data": list_messages(current_tenant_session(), ticket_id)}


@api.post("/tickets/<uuid:ticket_id>/messages")
@auth
@api.input(s.MessageIn)
@api.output(s.MessageOut, status_code=201)
@api.doc(summary="Reply (mailed to the requester) or add an internal note", responses=[404, 409, 422])
def add_ticket_message(ticket_id: uuid.UUID, json_data):
    return add_staff_message(current_tenant_session(), ticket_id, **json_data)


@api.get("/tickets/<uuid:ticket_id>/history")
@auth
@api.output(s.EventList)
@api.doc(summary="Every change of a ticket", responses=[404])
def ticket_history(ticket_id: uuid.UUID):
    return {"data": list_history(current_tenant_session(), ticket_id)}


@api.get("/queues")
@auth
@api.output(s.QueueList)
@api.doc(summary="List queues")
def list_queues():
    return {"data": queues.list_queues(current_tenant_session())}


@api.post("/queues")
@auth
@api.input(s.QueueIn)
@api.output(s.QueueOut, status_code=201)
@api.doc(summary="Create a queue (owners and admins)", responses=[403, 422])
def create_queue(json_data):
    return admin.create_queue(current_tenant_session(), json_data)


@api.get("/queues/<uuid:service_queue_id>")
@auth
@api.output(s.QueueOut)
@api.doc(summary="Read a queue", responses=[404])
def get_queue(service_queue_id: uuid.UUID):
    return queues.get_queue(current_tenant_session(), service_queue_id)


@api.patch("/queues/<uuid:service_queue_id>")
@auth
@api.input(s.QueueIn(partial=True))
@api.output(s.QueueOut)
@api.doc(
    summary="Change a queue: name, strategy, members, default (owners and admins)", responses=[403, 404, 422]
)
def update_queue(service_queue_id: uuid.UUID, json_data):
    session = current_tenant_session()
    queues.get_queue(session, service_queue_id)
    return admin.update_queue(session, service_queue_id, json_data)


@api.delete("/queues/<uuid:service_queue_id>")
@auth
@api.output({}, status_code=204)
@api.doc(summary="Delete a queue (its tickets keep no queue)", responses=[403, 404, 409])
def delete_queue(service_queue_id: uuid.UUID):
    session = current_tenant_session()
    queues.get_queue(session, service_queue_id)
    admin.delete_queue(session, service_queue_id)
    return ""


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


@api.get("/kb/articles")
@auth
@api.input(s.ArticleQuery, location="query")
@api.output(s.ArticleList)
@api.doc(summary="List or search (full text) knowledge base articles")
def list_articles(query_data):
    session = current_tenant_session()
    if query_data["q"]:
        found = kb.search_articles(
            session, query_data["q"], published_only=query_data["status"] == "published"
        )
        if query_data["status"] == "draft":
            found = [article for article in found if article.status == "draft"]
        return {"data": found}
    articles = kb.list_articles(session, category_id=query_data["category_id"])
    if query_data["status"]:
        articles = [article for article in articles if article.status == query_data["status"]]
    return {"data": articles}


@api.post("/kb/articles")
@auth
@api.input(s.ArticleIn)
@api.output(s.ArticleOut, status_code=201)
@api.doc(summary="Write an article (a draft unless status is published)", responses=[422])
def create_article(json_data):
    return kb.create_article(current_tenant_session(), json_data)


@api.get("/kb/articles/<uuid:kb_article_id>")
@auth
@api.output(s.ArticleOut)
@api.doc(summary="Read an article", responses=[404])
def get_article(kb_article_id: uuid.UUID):
    return kb.get_article(current_tenant_session(), kb_article_id)


@api.patch("/kb/articles/<uuid:kb_article_id>")
@auth
@api.input(s.ArticleIn(partial=True))
@api.output(s.ArticleOut)
@api.doc(summary="Change, publish or unpublish an article", responses=[404, 422])
def update_article(kb_article_id: uuid.UUID, json_data):
    return kb.update_article(current_tenant_session(), kb_article_id, json_data)


@api.delete("/kb/articles/<uuid:kb_article_id>")
@auth
@api.output({}, status_code=204)
@api.doc(summary="Delete a draft article", responses=[404, 409])
def delete_article(kb_article_id: uuid.UUID):
    kb.delete_article(current_tenant_session(), kb_article_id)
    return ""


@api.get("/kb/categories")
@auth
@api.output(s.CategoryList)
@api.doc(summary="List article categories")
def list_categories():
    return {"data": kb.list_categories(current_tenant_session())}


@api.post("/kb/categories")
@auth
@api.input(s.CategoryIn)
@api.output(s.CategoryOut, status_code=201)
@api.doc(summary="Create an article category", responses=[422])
def create_category(json_data):
    return kb.create_category(current_tenant_session(), json_data["name"])


@api.get("/macros")
@auth
@api.output(s.MacroList)
@api.doc(summary="List the macros you may apply: the shared ones and your own")
def list_macros():
    return {"data": macros.list_macros(current_tenant_session())}


@api.post("/macros")
@auth
@api.input(s.MacroIn)
@api.output(s.MacroOut, status_code=201)
@api.doc(summary="Create a macro (a shared one: owners and admins)", responses=[403, 422])
def create_macro(json_data):
    return macros.create_macro(current_tenant_session(), json_data)


@api.get("/macros/<uuid:macro_id>")
@auth
@api.output(s.MacroOut)
@api.doc(summary="Read a macro", responses=[404])
def get_macro(macro_id: uuid.UUID):
    return macros.get_macro(current_tenant_session(), macro_id)


@api.patch("/macros/<uuid:macro_id>")
@auth
@api.input(s.MacroIn(partial=True))
@api.output(s.MacroOut)
@api.doc(summary="Change a macro (a shared one: owners and admins)", responses=[403, 404, 422])
def update_macro(macro_id: uuid.UUID, json_data):
    return macros.update_macro(current_tenant_session(), macro_id, json_data)


@api.delete("/macros/<uuid:macro_id>")
@auth
@api.output({}, status_code=204)
@api.doc(summary="Delete a macro (a shared one: owners and admins)", responses=[403, 404])
def delete_macro(macro_id: uuid.UUID):
    macros.delete_macro(current_tenant_session(), macro_id)
    return ""


@api.post("/tickets/<uuid:ticket_id>/apply-macro")
@auth
@api.input(s.ApplyMacroIn)
@api.output(s.TicketOut)
@api.doc(
    summary="Apply a macro: its reply is sent and its changes made, in one step",
    responses=[404, 409, 422],
)
def apply_macro(ticket_id: uuid.UUID, json_data):
    session = current_tenant_session()
    return _annotated(session, macros.apply_macro(session, ticket_id, json_data["macro_id"]))
