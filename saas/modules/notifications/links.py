"""Where a notification leads: its record's page (found through the registry's record types), or the page
its event named (an import's status)."""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BuildError

from saas.db import TenantSession
from saas.modules.notifications.models import Notification
from saas.modules.registry import registry


def link_of(session: TenantSession, row: Notification, *, external: bool = False) -> str | None:
    """The URL of what ``row`` is about in its workspace; None when there is no page (any more)."""
    page = (row.details or {}).get("page")
    try:
        if page:
            return url_for(**page, _external=external)
        if row.record_type is None or row.record_id is None:
            return None
        record_type = registry.record_type(session, row.record_type)
        if record_type is None:
            return None
        arguments = record_type.detail_arguments(row.record_id)
        return url_for(record_type.endpoint, **arguments, _external=external)
    except BuildError:  # a module's page that is not served (its blueprint not registered)
        return None
