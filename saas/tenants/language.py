"""A workspace's default language and time zone, and a person's own language: validated and stored
here, read by :mod:`saas.i18n` when it chooses how a page or mail speaks."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.models import User
from saas.db import db
from saas.errors import ValidationError
from saas.i18n import LANGUAGES, N_
from saas.tenants.models import Tenant


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones a workspace may choose (``Europe/Berlin``), sorted; legacy aliases left out."""
    return tuple(sorted(name for name in available_timezones() if "/" in name and "Etc/" not in name))


def _checked_locale(locale: str | None) -> str | None:
    if not locale:
        return None
    if locale not in LANGUAGES:
        raise ValidationError(N_("Choose one of the offered languages."), {"locale": ["Not offered."]})
    return locale


def set_workspace_language(
    session: Session, tenant: Tenant, locale: str | None, time_zone: str | None, *, actor: str
) -> None:
    """Store the workspace's default language and time zone (empty: browser's language, UTC)."""
    locale = _checked_locale(locale)
    time_zone = time_zone or None
    if time_zone is not None and time_zone not in time_zone_names():
        raise ValidationError(N_("Choose a time zone from the list."), {"time_zone": ["Unknown time zone."]})
    tenant.locale, tenant.time_zone = locale, time_zone
    record_audit(
        session,
        "workspace.language_changed",
        actor=actor,
        tenant_id=tenant.id,
        details={"locale": locale, "time_zone": time_zone},
    )


def set_user_language(user: User, locale: str | None) -> None:
    """A person's own language for every workspace (empty: each workspace's default)."""
    user.locale = _checked_locale(locale)


def recipient_locale(preferred: str | None, tenant_id: str | None = None) -> str | None:
    """The language of mail to a person: their own (a user's or a contact's), else their workspace's."""
    if preferred:
        return preferred
    tenant = db.session.get(Tenant, tenant_id) if tenant_id else None
    return tenant.locale if tenant is not None else None
