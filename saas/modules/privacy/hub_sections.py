"""The privacy module's sections of the customer hub: what we hold and its download, consents, requests."""

from __future__ import annotations

import uuid

from saas.db import TenantSession
from saas.i18n import N_, translate
from saas.modules.privacy import consent
from saas.modules.privacy.subject import collect_personal_data
from saas.modules.registry import HubSection

# What the person may ask for themselves; staff handle the rest (restriction, portability...).
SELF_SERVICE_KINDS = ("rectification", "erasure", "objection")
MARKETING_PURPOSES = ("email_marketing", "sms_marketing")
CONSENT_STATES = {
    "granted": N_("agreed"),
    "withdrawn": N_("withdrawn"),
    "pending": N_("awaiting your confirmation"),
}
# The headings and field names of "what we hold about you", in the person's language.
HELD_DATA_LABELS = (
    N_("Contact"),
    N_("first name"),
    N_("last name"),
    N_("email"),
    N_("phone"),
    N_("title"),
    N_("created at"),
    N_("updated at"),
)


def held_data(session: TenantSession, contact_id: uuid.UUID | None) -> dict:
    return {"data": collect_personal_data(session, contact_id)}


def consents(session: TenantSession, contact_id: uuid.UUID | None) -> dict:
    purposes = consent.list_purposes(session)
    return {
        "purposes": purposes,
        "state": consent.consent_state(session, contact_id),
        "notices": {purpose.key: consent.current_notice(session, purpose) for purpose in purposes},
        "states": {status: translate(label) for status, label in CONSENT_STATES.items()},
    }


def privacy_requests(session: TenantSession, contact_id: uuid.UUID | None) -> dict:
    return {"kinds": SELF_SERVICE_KINDS}


SECTIONS = (
    HubSection("data", N_("What we hold about you"), "privacy/hub_data.html", held_data, order=50),
    HubSection("consents", N_("Your consents"), "privacy/hub_consents.html", consents, order=60),
    HubSection("requests", N_("Ask us"), "privacy/hub_requests.html", privacy_requests, order=70),
)
