"""The website widget's public routes at /chat/<slug>/: the script a website includes, whether someone
is there to answer, starting and writing in a chat, its live events, and the off-hours request form.

No staff account and no cookie: the visitor proves a chat with the token they got when starting it
(``X-Chat-Token``, or ``?token=`` for the event stream, which EventSource cannot give headers). Answers
are JSON; errors are problem documents. Rate-limited per client address, and per email where one is given.
"""

from __future__ import annotations

import uuid

from flask import abort, current_app, g, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from saas.db import TenantSession
from saas.errors import SaasError
from saas.extensions import csrf, limiter
from saas.i18n import translate, use_audience_locale
from saas.modules.chat import chats
from saas.modules.chat.blueprints import widget
from saas.modules.chat.events import chat_channel, chat_events
from saas.modules.chat.models import Chat
from saas.modules.switches import public_workspace
from saas.ratelimits import within_email_limit
from saas.web.errors import problem

PREFIX = "/chat/<slug>"
REQUIRES = ("chat", "service")
"""The widget files its chats as tickets: it needs the service module on too."""

csrf.exempt(widget)  # no cookie reaches these routes' decisions: the visitor's token does


def _limit(name: str, default: str):
    """A rate limit per client address, overridable in the app's config (tests raise it)."""
    return limiter.limit(lambda: current_app.config.get(name, default))


def _within_email_limit(email: str | None) -> None:
    if email and not within_email_limit(
        "CHAT_EMAIL_RATE_LIMIT", "10 per hour", email, scope=f"chat:{g.chat_tenant.id}"
    ):
        abort(429)


@widget.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    if endpoint == "chat_widget.static":
        return
    tenant = public_workspace(values, *REQUIRES, refusal="Live chat is switched off for this workspace.")
    g.chat_tenant = tenant
    use_audience_locale(tenant)


@widget.errorhandler(SaasError)
def _refused(error: SaasError):
    extra = dict(error.extra)
    if extra.get("errors"):  # the visitor reads the fields' messages too, in the widget's language
        extra["errors"] = {
            name: [translate(m) if isinstance(m, str) else m for m in messages]
            for name, messages in extra["errors"].items()
        }
    return problem(error.status, error.title, translate(error.detail), **extra)


@widget.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return problem(error.code or 500, error.name, error.description or error.name)


def _session() -> TenantSession:
    """The request's session for the widget's tenant; the app commits it once at the end."""
    if g.get("tenant_session") is None:
        g.tenant_session = TenantSession(g.chat_tenant.ref)
    return g.tenant_session


def _form() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "Send a JSON object.")
    return {key: value if isinstance(value, str) else None for key, value in data.items()}


def _visitor_chat(chat_id: uuid.UUID, token: str | None) -> Chat:
    return chats.visitor_chat(_session(), chat_id, token)


def _chat_answer(chat: Chat) -> dict:
    return {
        "id": chat.id,
        "status": chat.status,
        "messages": [chats.message_payload(message) for message in chat.messages],
    }


@widget.get(f"{PREFIX}/widget.js")
def script():
    """The one file a website includes; it finds its workspace from its own address."""
    response = widget.send_static_file("widget.js")
    response.cache_control.max_age = 300
    return response


@widget.get(f"{PREFIX}/status")
@_limit("CHAT_READ_RATE_LIMIT", "120 per minute")
def status():
    online = chats.is_online(_session())
    return jsonify(
        online=online,
        texts={
            "open": gettext("Chat with us"),
            "close": gettext("Close"),
            "title": gettext("Live chat") if online else gettext("Leave us a message"),
            "intro": gettext("Ask us anything: we answer here.")
            if online
            else gettext("We are away right now. Leave your message and we will answer by email."),
            "name": gettext("Your name (optional)"),
            "email": gettext("Your email (optional)") if online else gettext("Your email"),
            "message": gettext("Your message"),
            "start": gettext("Start chat"),
            "send": gettext("Send"),
            "leave": gettext("Send message"),
            "you": gettext("You"),
            "support": gettext("Support"),
            "thanks": gettext("Thank you! We will answer by email."),
            "ended": gettext("This chat has ended. Thank you!"),
        },
    )


@widget.post(f"{PREFIX}/chats")
@_limit("CHAT_START_RATE_LIMIT", "5 per minute; 30 per hour")
def start():
    data = _form()
    _within_email_limit(data.get("email"))
    chat, token = chats.start_chat(
        _session(),
        data.get("body") or "",
        name=data.get("name"),
        email=data.get("email"),
        page_url=data.get("page_url"),
    )
    return jsonify(_chat_answer(chat) | {"token": token}), 201


@widget.get(f"{PREFIX}/chats/<uuid:chat_id>")
@_limit("CHAT_READ_RATE_LIMIT", "120 per minute")
def show(chat_id: uuid.UUID):
    return jsonify(_chat_answer(_visitor_chat(chat_id, request.headers.get("X-Chat-Token"))))


@widget.post(f"{PREFIX}/chats/<uuid:chat_id>/messages")
@_limit("CHAT_WRITE_RATE_LIMIT", "20 per minute")
def write(chat_id: uuid.UUID):
    chat = _visitor_chat(chat_id, request.headers.get("X-Chat-Token"))
    message = chats.add_visitor_message(_session(), chat, _form().get("body") or "")
    return jsonify(chats.message_payload(message)), 201


@widget.get(f"{PREFIX}/chats/<uuid:chat_id>/events")
@_limit("CHAT_READ_RATE_LIMIT", "120 per minute")
def events(chat_id: uuid.UUID):
    chat = _visitor_chat(chat_id, request.args.get("token"))
    return chat_events.stream_of(chat_channel(g.chat_tenant.id, chat.id))


@widget.post(f"{PREFIX}/requests")
@_limit("CHAT_START_RATE_LIMIT", "5 per minute; 30 per hour")
def leave_request():
    """Off hours: the message becomes a ticket (answered by mail); says nothing of the ticket itself."""
    data = _form()
    _within_email_limit(data.get("email"))
    chats.leave_request(
        _session(), data.get("body") or "", email=data.get("email") or "", name=data.get("name")
    )
    return jsonify(received=True), 201
