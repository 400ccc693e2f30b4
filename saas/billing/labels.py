"""The billing catalogue's words in the reader's language. Plans and meters are rows (their names and
descriptions are data an operator may change); the launch catalogue's are marked here, so pages show
them through ``translate`` and an operator's own text stays as written."""

from __future__ import annotations

from flask_babel import gettext, npgettext

from saas.i18n import N_

CATALOGUE_TEXT = (
    N_("Pay as you go"),
    N_(
        "No seat licences: pay for the people who sign in, the emails you send and the contacts you keep "
        "beyond the first 1,000."
    ),
    N_("Active users"),
    N_("Each person who signs in, counted once per day."),
    N_("Marketing emails"),
    N_("Each marketing email sent."),
    N_("Stored contacts"),
    N_("Contacts beyond the first 1,000, at each day's high-water mark."),
    N_("File storage"),
    N_("Files kept on records: a millionth of a GB-month per KB-month, each day at its high-water mark."),
)
"""The seeded plan's and meters' names and descriptions (platform migrations p0004 and p0012)."""

LIFECYCLE_LABELS = {
    "unbilled": N_("Not billed"),
    "pending": N_("Being set up"),
    "trialing": N_("Free trial"),
    "active": N_("Active"),
    "past_due": N_("Payment due"),
    "read_only": N_("Read-only"),
}

READ_ONLY_REASONS = {
    "paused": N_("the free trial ended without a payment method"),
    "unpaid": N_("invoices remain unpaid"),
    "canceled": N_("the subscription was cancelled"),
    "incomplete_expired": N_("the first payment never completed"),
}
"""Why a workspace is read-only, by Stripe subscription status (English in the API's problems)."""
UNPAID = N_("the subscription is not paid")


def unit_label(unit: str, quantity: int | float) -> str:
    """A meter's unit after a quantity (``3 user-days``) in the reader's language; a unit an operator
    added later reads as written, with the English plural."""
    units = {  # a context of their own: "email" alone is also a channel's name
        "user-day": lambda n: npgettext("billing unit", "user-day", "user-days", n),
        "email": lambda n: npgettext("billing unit", "email", "emails", n),
        "contact-day": lambda n: npgettext("billing unit", "contact-day", "contact-days", n),
        "KB-month": lambda n: npgettext("billing unit", "KB-month", "KB-months", n),
    }
    if unit in units:
        return units[unit](quantity)
    return unit if quantity == 1 else f"{unit}s"


def unit_price(price: str, unit: str) -> str:
    """``€0.30 per user-day``."""
    return gettext("%(price)s per %(unit)s", price=price, unit=unit_label(unit, 1))
