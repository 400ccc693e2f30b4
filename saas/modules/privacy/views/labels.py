"""The privacy records' stored keys (request kinds and statuses, consent states, lawful bases, sources,
actors) as staff pages show them, in the reader's language; the API keeps the keys."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import gettext as _

from saas.auth.services import workspace_members
from saas.db import db
from saas.i18n import N_, translate
from saas.modules.privacy.blueprints import pages

REQUEST_KINDS = {
    "access": N_("access"),
    "portability": N_("portability"),
    "rectification": N_("rectification"),
    "erasure": N_("erasure"),
    "restriction": N_("restriction"),
    "objection": N_("objection"),
}
REQUEST_STATUSES = {
    "received": N_("received"),
    "verified": N_("verified"),
    "in_progress": N_("in progress"),
    "completed": N_("completed"),
    "rejected": N_("rejected"),
}
REQUEST_STEPS = {
    **REQUEST_STATUSES,
    "assigned": N_("assigned"),
    "erasure_queued": N_("erasure queued"),
    "erased": N_("erased"),
}
"""A request's trail: its statuses and the other steps it records."""
CHANNELS = {"staff": N_("staff"), "privacy_center": N_("privacy center"), "email": N_("email")}
VERIFICATION_METHODS = {
    "email_link": N_("email link"),
    "email_reply": N_("email reply"),
    "identity_document": N_("identity document"),
    "in_person": N_("in person"),
    "signed_letter": N_("signed letter"),
}
CONSENT_STATUSES = {"granted": N_("granted"), "withdrawn": N_("withdrawn"), "pending": N_("pending")}
LAWFUL_BASES = {
    "consent": N_("consent"),
    "contract": N_("contract"),
    "legal_obligation": N_("legal obligation"),
    "vital_interests": N_("vital interests"),
    "public_task": N_("public task"),
    "legitimate_interests": N_("legitimate interests"),
}
CONSENT_SOURCES = {
    "form": N_("form"),
    "privacy_center": N_("privacy center"),
    "import": N_("import"),
    "staff": N_("staff"),
    "api": N_("API"),
    "unsubscribe": N_("unsubscribe link"),
}
ACTORS = {"data_subject": N_("the person themselves"), "job": N_("automatic job"), "system": N_("the system")}
"""Who acted, when it was not a member (members are named by their email)."""


def actor_names() -> dict[str, str]:
    """Ledger actors as a person reads them: ``user:<id>`` becomes the member's email."""
    return {f"user:{user_id}": email for user_id, email in workspace_members(db.session, g.tenant.id)}


def named(names: dict[str, str], key: str | None) -> str:
    """``key`` in the reader's words, or as stored when the product has no name for it."""
    return translate(names[key]) if key in names else (key or "")


def step_note(action: str, note: str | None, people: dict[str, str]) -> str:
    """A trail step's note: stored notes that name a key (a channel, a method, a member) are shown in
    words; a note staff typed is shown as written."""
    if not note:
        return ""
    if action == "received" and note.startswith("via "):
        return _("via %(channel)s", channel=named(CHANNELS, note.removeprefix("via ")))
    if action == "verified":
        return named(VERIFICATION_METHODS, note)
    if action == "assigned":
        return people.get(f"user:{note}", note)
    return note


@pages.context_processor
def _privacy_names() -> dict[str, Any]:
    return {
        "names": {
            "kind": REQUEST_KINDS,
            "status": REQUEST_STATUSES,
            "step": REQUEST_STEPS,
            "channel": CHANNELS,
            "method": VERIFICATION_METHODS,
            "consent": CONSENT_STATUSES,
            "basis": LAWFUL_BASES,
            "source": CONSENT_SOURCES,
            "actor": ACTORS,
        },
        "named": named,
        "step_note": step_note,
    }
