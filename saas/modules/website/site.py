"""The workspace's site as the website module knows it: the origins its tracking script may report from,
and how long raw page views are kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.website.models import DEFAULT_RETENTION_DAYS, WebsiteSettings

MAX_ORIGINS = 20


def get_settings(session: Session) -> WebsiteSettings:
    """The settings row, made with the defaults on first use (no origin: the endpoint takes nothing yet)."""
    settings = session.get(WebsiteSettings, 1)
    if settings is None:
        settings = WebsiteSettings(id=1, origins=[], retention_days=DEFAULT_RETENTION_DAYS)
        session.add(settings)
        session.flush()
    return settings


def normalise_origin(text: str) -> str:
    """``https://www.example.com/any/page`` -> ``https://www.example.com``; ValueError if no web origin."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(text)
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def update_settings(session: Session, data: dict[str, Any]) -> WebsiteSettings:
    """Set the site's origins (one per line or a list) and the raw views' retention in days."""
    errors: dict[str, list[str]] = {}
    raw = data.get("origins") or []
    lines = raw.splitlines() if isinstance(raw, str) else list(raw)
    origins: list[str] = []
    for line in (str(line).strip() for line in lines):
        if not line:
            continue
        try:
            origin = normalise_origin(line)
        except ValueError:
            errors.setdefault("origins", []).append(N_("Enter each site as https://host (one per line)."))
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        errors.setdefault("origins", []).append(N_("At most 20 sites."))
    try:
        retention = int(data.get("retention_days", DEFAULT_RETENTION_DAYS))
    except (TypeError, ValueError):
        retention = 0
    if not 3 <= retention <= 730:
        errors["retention_days"] = [N_("Enter a number of days from 3 to 730.")]
    if errors:
        raise ValidationError(N_("Please correct the form."), errors)
    settings = get_settings(session)
    settings.origins = origins
    settings.retention_days = retention
    session.flush()
    return settings


def allows_origin(session: Session, origin: str | None) -> bool:
    """Whether the tracking script may report from ``origin`` (a browser's ``Origin`` header)."""
    if not origin:
        return False
    try:
        settings = session.get(WebsiteSettings, 1)  # read only: a public request writes no settings row
        return settings is not None and normalise_origin(origin) in settings.origins
    except ValueError:
        return False
