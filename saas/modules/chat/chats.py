"""Chats: a visitor starts one (or, off hours, leaves a request that becomes a ticket), visitor and
agents write in it, and it is filed as a ticket with its transcript, joining the visitor's open ticket
when they have one. Every change is announced to the chat's live listeners after it commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import case, func, select

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.chat.events import announce, chat_channel, inbox_channel
from saas.modules.chat.models import Chat, ChatMessage
from saas.modules.core.activities import acting_user_id
from saas.modules.service import sla
from saas.modules.service.business_hours import NoBusinessHours
from saas.modules.service.models import Ticket
from saas.modules.service.tickets import (
    OPEN_STATUSES,
    add_customer_message,
    contact_for_email,
    tickets,
)

MAX_BODY = 5000
"""A chat line; longer text belongs in a ticket."""
TICKET_CHANNEL = "web_form"
"""Tickets from the widget (a chat, or a request left off hours) come in through the website."""
TICKET_TAG = "chat"


def _now() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write a message.", {"body": ["Required."]})
    if len(body) > MAX_BODY:
        raise ValidationError(
            "The message is too long.", {"body": [N_("At most %(limit)s characters.", limit=MAX_BODY)]}
        )
    return body


def _email(address: str | None, *, required: bool = False) -> str | None:
    address = (address or "").strip()
    if not address:
        if required:
            raise ValidationError("Enter your email address.", {"email": ["Required."]})
        return None
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError("Enter a valid email address.", {"email": ["A valid address."]}) from None


def _name(name: str | None) -> str | None:
    return (name or "").strip()[:100] or None


def is_online(session: TenantSession, now: datetime | None = None) -> bool:
    """Whether ``now`` is inside the workspace's business hours (the service module's calendar):
    outside them nobody answers, so the widget offers to leave a request instead."""
    now = now or _now()
    try:
        start, _ = next(sla.business_calendar(session).windows_from(now))
    except NoBusinessHours:
        return False
    return start <= now


# --- the visitor's side ---------------------------------------------------------------------------


def start_chat(
    session: TenantSession,
    body: str,
    *,
    name: str | None = None,
    email: str | None = None,
    page_url: str | None = None,
) -> tuple[Chat, str]:
    """Open a chat with the visitor's first message; returns it and the visitor's token (shown once)."""
    if not is_online(session):
        raise Conflict("We are away right now: leave a message and we will answer by email.")
    body, email = _body(body), _email(email)
    token = secrets.token_urlsafe(32)
    chat = Chat(
        id=uuid.uuid4(),
        status="waiting",
        visitor_name=_name(name),
        visitor_email=email,
        contact_id=contact_for_email(session, email, _name(name)).id if email else None,
        token_hash=_token_hash(token),
        page_url=(page_url or "")[:500] or None,
    )
    session.add(chat)
    session.flush()
    _add_message(session, chat, "visitor", body)
    _announce_chat(session, chat)
    return chat, token


def visitor_chat(session: TenantSession, chat_id: uuid.UUID, token: str | None) -> Chat:
    """The chat if ``token`` is its visitor's; any other chat (or tenant's) is simply not found."""
    chat = session.get(Chat, chat_id)
    if chat is None or not token or not hmac.compare_digest(chat.token_hash, _token_hash(token)):
        raise NotFound("No such chat.")
    return chat


def add_visitor_message(session: TenantSession, chat: Chat, body: str) -> ChatMessage:
    if chat.status == "closed":
        raise Conflict("This chat has ended; start a new one.")
    return _add_message(session, chat, "visitor", _body(body))


def leave_request(session: TenantSession, body: str, *, email: str, name: str | None = None) -> Ticket:
    """Off hours: the visitor's message becomes a ticket, answered by mail from the ticket."""
    body, email = _body(body), _email(email, required=True)
    contact = contact_for_email(session, email, _name(name))
    return tickets.create(
        session,
        {
            "subject": _subject(body),
            "description": body,
            "channel": TICKET_CHANNEL,
            "requester_contact_id": contact.id,
            "tags": [TICKET_TAG],
        },
        actor="customer",
    )


# --- the agents' side -----------------------------------------------------------------------------


def get_chat(session: TenantSession, chat_id: uuid.UUID) -> Chat:
    chat = session.get(Chat, chat_id)
    if chat is None:
        raise NotFound("No such chat.")
    return chat


def open_chats(session: TenantSession) -> list[Chat]:
    """The inbox: waiting chats first (longest waiting on top), then those being answered."""
    waiting_first = case((Chat.status == "waiting", 0), else_=1)
    return list(
        session.scalars(
            select(Chat).where(Chat.status != "closed").order_by(waiting_first, Chat.created_at, Chat.id)
        )
    )


def recent_closed_chats(session: TenantSession, limit: int = 20) -> list[Chat]:
    return list(
        session.scalars(
            select(Chat).where(Chat.status == "closed").order_by(Chat.closed_at.desc()).limit(limit)
        )
    )


def waiting_count(session: TenantSession) -> int:
    return session.scalar(select(func.count()).select_from(Chat).where(Chat.status == "waiting")) or 0


def add_agent_message(session: TenantSession, chat_id: uuid.UUID, body: str) -> ChatMessage:
    """A member answers; the first answer takes the chat (it leaves the waiting list)."""
    chat = get_chat(session, chat_id)
    if chat.status == "closed":
        raise Conflict("This chat has ended.")
    body = _body(body)
    if chat.status == "waiting":
        chat.status = "active"
        chat.assignee_user_id = acting_user_id(session)
        _announce_chat(session, chat)
    return _add_message(session, chat, "agent", body, author_user_id=acting_user_id(session))


def close_chat(session: TenantSession, chat_id: uuid.UUID) -> Ticket:
    """End the chat and file it as a ticket with its transcript (see :func:`file_as_ticket`)."""
    chat = get_chat(session, chat_id)
    if chat.status == "closed":
        raise Conflict("This chat has already ended.")
    ticket = file_as_ticket(session, chat)
    chat.status = "closed"
    chat.closed_at = _now()
    _announce_chat(session, chat)
    return ticket


def file_as_ticket(session: TenantSession, chat: Chat) -> Ticket:
    """The transcript joins the visitor's newest open ticket when they have one, else opens a ticket."""
    text = transcript(chat)
    open_ticket = (
        session.scalar(
            select(Ticket)
            .where(Ticket.requester_contact_id == chat.contact_id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.created_at.desc())
            .limit(1)
        )
        if chat.contact_id is not None
        else None
    )
    if open_ticket is not None:
        add_customer_message(session, open_ticket, chat.contact_id, text, channel=TICKET_CHANNEL)
        ticket = open_ticket
    else:
        first = next((m.body for m in chat.messages if m.author == "visitor"), "")
        ticket = tickets.create(
            session,
            {
                "subject": _subject(first),
                "description": text,
                "channel": TICKET_CHANNEL,
                "requester_contact_id": chat.contact_id,
                "tags": [TICKET_TAG],
            },
            actor="customer",
        )
    chat.ticket_id = ticket.id
    return ticket


def transcript(chat: Chat) -> str:
    """The chat as plain text, one line per message: what the ticket keeps of it."""
    who = chat.visitor_label or "Visitor"
    lines = [f"Chat transcript ({who})"]
    for message in chat.messages:
        author = who if message.author == "visitor" else "Support"
        lines.append(f"[{message.created_at:%Y-%m-%d %H:%M} UTC] {author}: {message.body}")
    return "\n".join(lines)


def chats_of_contact(session: TenantSession, contact_id: uuid.UUID) -> list[Chat]:
    """A contact's chats, newest first (with their messages), for lists of everything about a person."""
    return list(
        session.scalars(
            select(Chat).where(Chat.contact_id == contact_id).order_by(Chat.created_at.desc(), Chat.id)
        )
    )


# --- shared ---------------------------------------------------------------------------------------


def _subject(body: str) -> str:
    first_line = body.strip().splitlines()[0] if body.strip() else "Chat"
    return f"Chat: {first_line}"[:200]


def _add_message(
    session: TenantSession, chat: Chat, author: str, body: str, *, author_user_id: uuid.UUID | None = None
) -> ChatMessage:
    # Python's clock: the messages of one request keep their order.
    message = ChatMessage(
        chat_id=chat.id, author=author, author_user_id=author_user_id, body=body, created_at=_now()
    )
    session.add(message)
    chat.updated_at = message.created_at
    session.flush()
    session.expire(chat, ["messages"])
    announce(
        session,
        (inbox_channel(session.tenant.id), chat_channel(session.tenant.id, chat.id)),
        "message",
        message_payload(message),
    )
    return message


def message_payload(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "author": message.author,
        "body": message.body,
        "at": message.created_at.isoformat(),
    }


def _announce_chat(session: TenantSession, chat: Chat) -> None:
    payload = {"chat_id": chat.id, "status": chat.status, "visitor": chat.visitor_label}
    announce(
        session,
        (inbox_channel(session.tenant.id), chat_channel(session.tenant.id, chat.id)),
        "chat",
        payload,
    )
