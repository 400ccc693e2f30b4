"""How the sales pages name a lead's or deal's status in the reader's language. A status word alone is
ambiguous to a translator ("Open" deal, "Open" task), hence each carries its context."""

from __future__ import annotations

from flask_babel import pgettext

from saas.modules.sfa.models import DEAL_STATUSES, LEAD_STATUSES, QUOTE_STATUSES


def lead_status_labels() -> dict[str, str]:
    labels = {
        "new": pgettext("lead status", "New"),
        "working": pgettext("lead status", "Working"),
        "qualified": pgettext("lead status", "Qualified"),
        "disqualified": pgettext("lead status", "Disqualified"),
        "converted": pgettext("lead status", "Converted"),
    }
    return {status: labels[status] for status in LEAD_STATUSES}


def deal_status_labels() -> dict[str, str]:
    labels = {
        "open": pgettext("deal status", "Open"),
        "won": pgettext("deal status", "Won"),
        "lost": pgettext("deal status", "Lost"),
    }
    return {status: labels[status] for status in DEAL_STATUSES}


def quote_status_labels() -> dict[str, str]:
    labels = {
        "draft": pgettext("quote status", "Draft"),
        "sent": pgettext("quote status", "Sent"),
        "accepted": pgettext("quote status", "Accepted"),
        "declined": pgettext("quote status", "Declined"),
        "superseded": pgettext("quote status", "Superseded"),
    }
    return {status: labels[status] for status in QUOTE_STATUSES}
