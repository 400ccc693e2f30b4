"""``/api/v1/macros`` and applying one to a ticket."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.service import macros
from saas.modules.service import schemas as s
from saas.modules.service.api.tickets import annotated
from saas.modules.service.blueprints import api
from saas.tenants.routing import current_tenant_session

auth = api.auth_required(token_auth)


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
    return annotated(session, macros.apply_macro(session, ticket_id, json_data["macro_id"]))
