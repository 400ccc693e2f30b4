"""``/api/v1/tickets``: tickets with their thread and history."""

from __future__ import annotations

import uuid

from flask import g

from saas.api import token_auth
from saas.modules.core import custom_fields
from saas.modules.core.api.records import services_page
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


def annotated(session, ticket):
    custom_fields.annotate(session, ENTITY, [ticket])
    return ticket


@api.post("/tickets")
@auth
@api.input(s.TicketIn)
@api.output(s.TicketOut, status_code=201)
@api.doc(summary="Open a ticket", responses=[422])
def create_ticket(json_data):
    session = current_tenant_session()
    return annotated(session, tickets.create(session, json_data))


@api.get("/tickets/<uuid:ticket_id>")
@auth
@api.output(s.TicketOut)
@api.doc(summary="Read a ticket", responses=[404])
def get_ticket(ticket_id: uuid.UUID):
    session = current_tenant_session()
    return annotated(session, tickets.get(session, ticket_id))


@api.patch("/tickets/<uuid:ticket_id>")
@auth
@api.input(s.TicketChange)
@api.output(s.TicketOut)
@api.doc(summary="Change a ticket (status, priority, assignee, queue, tags...)", responses=[404, 409, 422])
def update_ticket(ticket_id: uuid.UUID, json_data):
    session = current_tenant_session()
    return annotated(session, tickets.update(session, ticket_id, json_data))


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
