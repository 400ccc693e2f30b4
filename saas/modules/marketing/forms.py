"""Public lead-capture forms: what a tenant asks, and what a submission creates.

A submission finds or creates the contact (filling only blanks: an anonymous visitor never overwrites
what staff recorded), records each ticked consent through the privacy ledger (email marketing stays
pending until the person confirms the mailed link), and with the sales module on creates a lead.
"""

from __future__ import annotations

import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext, ngettext
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.api.webhooks import emit
from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.jobs import enqueue_after_commit
from saas.modules.core import phones
from saas.modules.core.models import Contact
from saas.modules.core.services import contacts
from saas.modules.marketing.models import FormSubmission, MarketingForm
from saas.modules.privacy import consent
from saas.modules.registry import registry
from saas.modules.switches import is_module_enabled

FORM_FIELDS = {
    "first_name": (N_("First name"), 100),
    "last_name": (N_("Last name"), 100),
    "email": (N_("Email"), 254),
    "phone": (N_("Phone"), 40),
    "company": (N_("Company"), 200),
    "title": (N_("Job title"), 100),
}
# What a visitor reads when a required field is empty, in the form's language.
MISSING = {"first_name": N_("Enter your first name."), "email": N_("Enter your email address.")}
REQUIRED_FIELDS = ("first_name", "email")
HONEYPOT = "website"
"""A field hidden from people; bots fill it in."""
CONFIRMATION_JOB = "saas.modules.privacy.links.send_consent_confirmation"


# --- the public link ---------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="marketing-form")


def form_token(tenant_id: str, form_id: uuid.UUID) -> str:
    return _serializer().dumps([tenant_id, str(form_id)])


def form_for_token(session: TenantSession, token: str) -> MarketingForm:
    try:
        tenant_id, form_id = _serializer().loads(token)
        form = session.get(MarketingForm, uuid.UUID(form_id)) if tenant_id == session.tenant.id else None
    except (BadData, TypeError, ValueError):
        form = None
    if form is None or not form.enabled:
        raise NotFound("No such form.")
    return form


# --- forms -------------------------------------------------------------------------------------------


def list_forms(session: Session) -> list[MarketingForm]:
    return list(
        session.scalars(select(MarketingForm).order_by(func.lower(MarketingForm.name), MarketingForm.id))
    )


def get_form(session: Session, form_id: uuid.UUID) -> MarketingForm:
    form = session.get(MarketingForm, form_id)
    if form is None:
        raise NotFound(N_("No form with id %(id)s.", id=form_id))
    return form


def _clean(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    name = (data.get("name") or "").strip()
    if not name or len(name) > 200:
        raise ValidationError(
            N_("A form needs a name."), {"name": [N_("Give a name (at most 200 characters).")]}
        )
    fields = list(dict.fromkeys([*REQUIRED_FIELDS, *(data.get("fields") or [])]))
    unknown = [f for f in fields if f not in FORM_FIELDS]
    if unknown:
        raise ValidationError(
            N_("Unknown field."), {"fields": [N_("Use any of: %(choices)s.", choices=", ".join(FORM_FIELDS))]}
        )
    purposes = list(dict.fromkeys(data.get("purposes") or []))
    known = {p.key for p in consent.list_purposes(session)}
    if any(p not in known for p in purposes):
        raise ValidationError(
            N_("Unknown purpose."),
            {"purposes": [N_("Use any of: %(choices)s.", choices=", ".join(sorted(known)))]},
        )
    thank_you = (data.get("thank_you") or "Thank you!").strip()[:500]
    return {
        "name": name,
        "fields": [f for f in FORM_FIELDS if f in fields],
        "purposes": purposes,
        "create_lead": bool(data.get("create_lead", True)),
        "thank_you": thank_you,
        "enabled": bool(data.get("enabled", True)),
    }


def create_form(session: Session, data: dict[str, Any]) -> MarketingForm:
    form = MarketingForm(**_clean(session, data))
    session.add(form)
    session.flush()
    return form


def update_form(session: Session, form_id: uuid.UUID, data: dict[str, Any]) -> MarketingForm:
    form = get_form(session, form_id)
    for name, value in _clean(session, {**_as_data(form), **data}).items():
        setattr(form, name, value)
    session.flush()
    return form


def _as_data(form: MarketingForm) -> dict[str, Any]:
    return {
        n: getattr(form, n) for n in ("name", "fields", "purposes", "create_lead", "thank_you", "enabled")
    }


def delete_form(session: Session, form_id: uuid.UUID) -> None:
    session.delete(get_form(session, form_id))
    session.flush()


def form_consents(session: Session, form: MarketingForm) -> list[tuple[str, str, int, str]]:
    """(purpose key, title, notice version, notice text) of each consent checkbox, as shown now."""
    shown = []
    for purpose in consent.list_purposes(session):
        if purpose.key in form.purposes:
            notice = consent.current_notice(session, purpose)
            shown.append((purpose.key, purpose.title, notice.version, notice.text))
    return shown


# --- submissions -------------------------------------------------------------------------------------


def submit_form(
    session: TenantSession,
    form: MarketingForm,
    data: dict[str, str],
    context: consent.ConsentContext,
    center_url: str,
    locale: str | None = None,
) -> FormSubmission | None:
    """Take one submission; None when nothing was created (a bot, or a person who asked to be erased:
    they see the same thanks, so the form tells nobody who is on the suppression list). ``locale``, the
    language the form spoke, becomes the contact's preferred one unless they already chose."""
    if data.get(HONEYPOT):
        return None
    values = _submitted_values(form, data, phones.phone_region(session))
    email = values["email"]
    if registry.refused_people(session, [email]):
        return None
    contact = session.scalar(
        select(Contact)
        .where(func.lower(Contact.email) == email.lower())
        .order_by(Contact.created_at)
        .limit(1)
    )
    person = {k: v for k, v in values.items() if k in ("first_name", "last_name", "email", "phone", "title")}
    if contact is None:
        contact = contacts.create(session, person)
    else:  # fill blanks only
        contacts.update(
            session, contact.id, {k: v for k, v in person.items() if v and not getattr(contact, k)}
        )
    if locale and not contact.preferred_locale:
        contact.preferred_locale = locale
    ticked = [key for key in form.purposes if data.get(f"consent_{key}")]
    shown = {key: version for key, _, version, _ in form_consents(session, form)}
    for key in ticked:
        event = consent.record_consent(
            session, contact.id, key, "granted", context, notice_version=shown[key]
        )
        if event.status == "pending":
            enqueue_after_commit(session, CONFIRMATION_JOB, event.id, center_url)
    lead_id = _create_lead(session, form, values) if form.create_lead else None
    submission = FormSubmission(form_id=form.id, contact_id=contact.id, lead_id=lead_id, consents=ticked)
    session.add(submission)
    session.flush()
    if data.get("visitor_id"):  # the site's tracking script named the browser: its visits become theirs
        emit(session, "visitor.identified", {"visitor_id": data["visitor_id"][:36], "contact_id": contact.id})
    emit(session, "form.submitted", {"form_id": form.id, "contact_id": contact.id, "lead_id": lead_id})
    return submission


def _submitted_values(
    form: MarketingForm, data: dict[str, str], phone_region: str | None
) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    errors: dict[str, list[str]] = {}
    for name in form.fields:
        _label, limit = FORM_FIELDS[name]
        value = (data.get(name) or "").strip()
        if name in REQUIRED_FIELDS and not value:
            errors[name] = [gettext(MISSING[name])]
        elif len(value) > limit:
            errors[name] = [ngettext("At most %(num)d character.", "At most %(num)d characters.", limit)]
        values[name] = value or None
    if values.get("email") and "email" not in errors:
        try:
            values["email"] = validate_email(values["email"], check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = [gettext("Enter a valid email address.")]
    if values.get("phone") and "phone" not in errors:
        try:  # in E.164 before it reaches the contact, so the visitor reads the reason in their language
            values["phone"] = phones.normalise_phone(values["phone"], phone_region)
        except ValidationError:
            example = phones.example_number(phone_region)
            errors["phone"] = [
                gettext("Enter your phone number with its country code, e.g. %(example)s.", example=example)
            ]
    if errors:
        raise ValidationError(N_("Please correct the form."), errors)
    return values


def _create_lead(
    session: TenantSession, form: MarketingForm, values: dict[str, str | None]
) -> uuid.UUID | None:
    if not is_module_enabled(db.session, session.tenant.id, "sfa"):
        return None
    from saas.modules.sfa.leads import leads

    data = {k: values.get(k) for k in ("first_name", "last_name", "email", "phone", "company", "title")}
    return leads.create(session, {**data, "source": f"Form: {form.name}"[:100]}).id


def submission_count(session: Session, form_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count()).select_from(FormSubmission).where(FormSubmission.form_id == form_id)
    )
