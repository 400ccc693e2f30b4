"""Privacy actions in the platform audit log: identifiers only, never the person's data."""

from __future__ import annotations

from typing import Any

from flask import Response

from saas.audit import record_audit
from saas.db import TenantSession, db


def audit_privacy(
    session: TenantSession,
    action: str,
    *,
    actor: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue an audit entry on the platform session; the caller's request or job commits it."""
    record_audit(
        db.session,
        f"privacy.{action}",
        actor=actor,
        tenant_id=session.tenant.id,
        target=target,
        details=details,
    )


def commit_audit_with_response(response: Response) -> Response:
    """``after_request`` of the privacy blueprints: the audit entries commit only with a successful answer.

    (The tenant session commits in the app's own ``after_request``, right after this.)
    """
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def staff_actor() -> str:
    """The signed-in member acting on a page, as audit entries name them."""
    from flask_login import current_user

    return f"user:{current_user.id}"


def api_actor() -> str:
    """The API credential's user acting, as audit entries name them."""
    from saas.api import token_auth

    return f"user:{token_auth.current_user.id}"
