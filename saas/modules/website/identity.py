"""Joining a visitor through a tracked email: a followed link into one of the workspace's listed sites
gets ``ocrm_ident``, a signed mark naming the contact (and the workspace); the tracking script sends it
once with its next batch (after consent), and the batch's browser is joined to that contact.

Links to any other site are left as they are: the mark never leaves for a third party.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from saas.modules.core.models import Contact
from saas.modules.website.site import allows_origin

PARAMETER = "ocrm_ident"
MAX_AGE_SECONDS = 30 * 24 * 3600
"""How long a mark joins: a mail opened a month later still does, a forwarded old link not for ever."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="website-ident")


def mark_followed_link(session: Session, url: str, contact_id: uuid.UUID) -> str:
    """The registry's ``followed_link`` hook: ``url`` with the contact's mark if it is on a listed site."""
    from saas.db import db
    from saas.modules.switches import is_module_enabled

    parts = urlsplit(url)
    if not allows_origin(session, f"{parts.scheme}://{parts.netloc}"):
        return url
    if not is_module_enabled(db.session, session.tenant.id, "website"):
        return url
    mark = _serializer().dumps({"t": session.tenant.id, "c": str(contact_id)})
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAMETER]
    return urlunsplit(parts._replace(query=urlencode([*query, (PARAMETER, mark)])))


def contact_of_mark(session: Session, mark: str) -> uuid.UUID | None:
    """The contact a mark names, if it is genuine, recent, this workspace's, and the contact still exists."""
    try:
        data = _serializer().loads(mark, max_age=MAX_AGE_SECONDS)
        contact_id = uuid.UUID(data["c"])
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if data.get("t") != session.tenant.id or session.get(Contact, contact_id) is None:
        return None
    return contact_id
