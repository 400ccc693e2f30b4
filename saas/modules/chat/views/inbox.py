"""The agents' chat inbox under /t/<slug>/chat: waiting chats first, live over server-sent events;
answering a chat and ending it as a ticket."""

from __future__ import annotations

import uuid

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import ValidationError
from saas.modules.chat import chats
from saas.modules.chat.blueprints import pages
from saas.modules.chat.events import chat_events, inbox_channel
from saas.modules.switches import ModuleDisabled, is_module_enabled
from saas.tenants.routing import current_tenant_session


@pages.before_request
def _needs_the_service_module() -> None:
    """Chats end as tickets: without the service module the inbox would have nowhere to file them."""
    if not is_module_enabled(db.session, g.tenant.id, "service"):
        raise ModuleDisabled(
            "Live chat files its chats as tickets: switch the Service module on to use it. Its data is kept."
        )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _render_inbox(chat_id: uuid.UUID | None = None, *, status: int = 200, errors=None, body: str = ""):
    session = current_tenant_session()
    chat = chats.get_chat(session, chat_id) if chat_id else None
    return render_template(
        "chat/inbox.html",
        open_chats=chats.open_chats(session),
        closed_chats=chats.recent_closed_chats(session),
        chat=chat,
        online=chats.is_online(session),
        # The members by user id (their email), to name who answered.
        people=dict(workspace_members(db.session, g.tenant.id)),
        errors=errors or {},
        body=body,
    ), status


@pages.get("/chat")
def inbox():
    return _render_inbox()


@pages.get("/chat/<uuid:chat_id>")
def show_chat(chat_id: uuid.UUID):
    return _render_inbox(chat_id)


@pages.post("/chat/<uuid:chat_id>/messages")
def answer_chat(chat_id: uuid.UUID):
    body = request.form.get("body", "")
    try:
        message = chats.add_agent_message(current_tenant_session(), chat_id, body)
    except ValidationError as error:
        if _wants_json():
            return jsonify(errors=error.errors), 422
        return _render_inbox(chat_id, status=422, errors=error.errors, body=body)
    if _wants_json():
        return jsonify(chats.message_payload(message)), 201
    return redirect(url_for("chat.show_chat", chat_id=chat_id))


@pages.post("/chat/<uuid:chat_id>/close")
def close_chat(chat_id: uuid.UUID):
    ticket = chats.close_chat(current_tenant_session(), chat_id)
    flash(gettext("The chat has ended; its transcript is on the ticket."))
    return redirect(url_for("service.show_ticket", ticket_id=ticket.id))


@pages.get("/chat/events")
def inbox_events():
    """Every chat event of the workspace, for its members' inbox pages."""
    return chat_events.stream_of(inbox_channel(g.tenant.id))
