"""The customer hub's branding, set by the tenant's admins: name, logo, colour, privacy policy link."""

from __future__ import annotations

import re
from dataclasses import dataclass

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.i18n import N_
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.subject import privacy_settings

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_URL = re.compile(r"^https://[^\s\"'<>]{3,490}$")


@dataclass(frozen=True)
class Branding:
    name: str
    logo_url: str | None
    color: str | None
    policy_url: str | None


def branding(session: TenantSession, default_name: str) -> Branding:
    settings = privacy_settings(session)
    return Branding(
        settings.brand_name or default_name,
        settings.brand_logo_url,
        settings.brand_color,
        settings.policy_url,
    )


def set_branding(session: TenantSession, form: dict[str, str], actor: str) -> None:
    """Store the branding; links must be https and the colour ``#rrggbb`` (they reach a public page)."""
    values = {
        key: (form.get(key) or "").strip() or None for key in ("name", "logo_url", "color", "policy_url")
    }
    errors: dict[str, list[str]] = {}
    if values["name"] and len(values["name"]) > 200:
        errors["name"] = [N_("Use at most 200 characters.")]
    for key in ("logo_url", "policy_url"):
        if values[key] and not _URL.match(values[key]):
            errors[key] = [N_("Enter an https:// address.")]
    if values["color"] and not _COLOR.match(values["color"]):
        errors["color"] = [N_("Enter a colour as #rrggbb.")]
    if errors:
        raise ValidationError(N_("Please correct the marked fields."), errors)
    settings = privacy_settings(session)
    settings.brand_name, settings.brand_logo_url = values["name"], values["logo_url"]
    settings.brand_color, settings.policy_url = values["color"], values["policy_url"]
    session.flush()
    audit_privacy(session, "branding.set", actor=actor)
