"""Open and click tracking of mail written from the CRM: a signed token per message names its tenant
and row (and, for a click, the link the sender wrote), so the public routes need no login and cannot be
turned into an open redirect."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import update

from saas.db import TenantSession
from saas.errors import NotFound
from saas.modules.mailbox.models import MailMessage

SALT = "mailbox-tracking"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def links(tenant_id: str, message_id: uuid.UUID, base_url: str) -> tuple[str, Callable[[str], str]]:
    """The open pixel's URL, and a function giving a link's tracked URL, for one message; ``base_url``
    is the app's address as the sender reached it (like a campaign's)."""
    from saas.db import db
    from saas.tenants.models import Tenant

    base = f"{base_url.rstrip('/')}/mt/{db.session.get(Tenant, tenant_id).slug}"
    serializer = _serializer()
    opened = f"{base}/o/{serializer.dumps({'t': tenant_id, 'm': message_id.hex})}.gif"

    def clicked(link: str) -> str:
        return f"{base}/c/{serializer.dumps({'t': tenant_id, 'm': message_id.hex, 'u': link})}"

    return opened, clicked


def _read(session: TenantSession, token: str) -> dict:
    try:
        payload = _serializer().loads(token)
        uuid.UUID(payload["m"])
    except (BadData, KeyError, TypeError, ValueError):
        raise NotFound("No such link.") from None
    if payload.get("t") != session.tenant.id:
        raise NotFound("No such link.")
    return payload


def record_open(session: TenantSession, token: str) -> None:
    payload = _read(session, token)
    session.execute(
        update(MailMessage)
        .where(MailMessage.id == uuid.UUID(payload["m"]))
        .values(opens=MailMessage.opens + 1)
    )


def record_click(session: TenantSession, token: str) -> str:
    """Count the click; the link the sender wrote, to redirect to."""
    payload = _read(session, token)
    link = payload.get("u")
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        raise NotFound("No such link.")
    session.execute(
        update(MailMessage)
        .where(MailMessage.id == uuid.UUID(payload["m"]))
        .values(clicks=MailMessage.clicks + 1)
    )
    return link
