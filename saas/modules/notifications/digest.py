"""The daily digest: each member who chose it gets one mail listing the unread notifications not mailed yet,
each with its link. A deactivated member gets none."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import select

from saas.db import TenantRef, TenantSession, tenant_session
from saas.i18n import in_locale
from saas.mail import send_mail
from saas.modules.notifications.models import Notification, NotificationSetting
from saas.modules.notifications.services import active_members
from saas.modules.notifications.wording import sentence
from saas.tenants.language import recipient_locale

log = logging.getLogger(__name__)


def _open_link(base_url: str | None, slug: str, row: Notification) -> str | None:
    """The notification's link from the address its recipient chose the digest on (a job has no request)."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(
        "notifications.open_notification", {"slug": slug, "notification_id": row.id}, force_external=True
    )


def mail_digests(session: TenantSession, now: datetime | None = None) -> int:
    """Mail every digest due in this workspace; returns how many mails went out."""
    from saas.auth.models import User
    from saas.db import db

    now = now or datetime.now(UTC)
    settings = session.scalars(select(NotificationSetting).where(NotificationSetting.digest)).all()
    members = active_members(session.tenant.id, [setting.user_id for setting in settings])
    sent = 0
    for setting in settings:
        if setting.user_id not in members:
            continue
        rows = session.scalars(
            select(Notification)
            .where(
                Notification.user_id == setting.user_id,
                Notification.read_at.is_(None),
                Notification.mailed_at.is_(None),
            )
            .order_by(Notification.created_at)
        ).all()
        if not rows:
            continue
        user = db.session.get(User, setting.user_id)
        with in_locale(recipient_locale(user.locale if user else None, session.tenant.id)):
            lines = []
            for row in rows:
                link = _open_link(setting.base_url, session.tenant.slug, row)
                lines.append(f"- {sentence(row)}" + (f"\n  {link}" if link else ""))
            subject = ngettext("%(num)d new notification", "%(num)d new notifications", len(rows))
            intro = gettext("What happened in your workspace since the last digest:")
            body = intro + "\n\n" + "\n".join(lines)
        if send_mail(members[setting.user_id], subject, body + "\n"):
            for row in rows:
                row.mailed_at = now
            setting.last_digest_at = now
            sent += 1
        session.commit()  # each member's mail is marked sent before the next one goes out
    return sent


def mail_all_digests() -> dict[str, Any]:
    """Periodic job (daily): :func:`mail_digests` for every tenant."""
    from saas.jobs.fanout import for_each_tenant

    def mail(ref: TenantRef) -> int:
        with tenant_session(ref) as session:
            return mail_digests(session)

    report = for_each_tenant("mail_all_digests", mail)
    return {**report.as_dict(), "mailed": sum(report.results.values())}
