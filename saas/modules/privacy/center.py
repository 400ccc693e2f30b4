"""The privacy center at /p/<slug>/: a tenant's end customers see and manage their data.

Public (no account). A person proves who they are with a signed, single-use link mailed to them;
the center's own session then holds that tenant and contact, apart from any staff login.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from saas.db import TenantSession, db
from saas.errors import Conflict
from saas.extensions import limiter
from saas.i18n import LANGUAGES, N_, current_locale, normalise_locale, translate, use_audience_locale
from saas.modules.core.models import Contact
from saas.modules.privacy import branding, consent, requests
from saas.modules.privacy.audit import audit_privacy, commit_audit_with_response
from saas.modules.privacy.links import (
    LinkRefused,
    LinkSession,
    consume_link,
    contact_id_for_email,
    enqueue_center_link,
    read_confirmation_token,
    read_link_token,
)
from saas.modules.privacy.subject import collect_personal_data, personal_data_json
from saas.ratelimits import within_email_limit
from saas.tenants.models import Tenant

privacy_center = Blueprint("privacy_center", __name__, template_folder="templates")

CENTER_SESSION = LinkSession("privacy_center", timedelta(minutes=30))
SUBJECT_ACTOR = "data_subject"
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


@privacy_center.url_value_preprocessor
def _bind_center_to_tenant(endpoint: str | None, values: dict | None) -> None:
    slug = (values or {}).pop("slug", None)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug)) if slug else None
    if tenant is None:
        abort(404)
    g.center_tenant = tenant
    g.center_ref = tenant.ref
    use_audience_locale(tenant)


@privacy_center.before_request
def _speak_the_visitors_language() -> None:
    """Once the person is known, the center speaks the language their contact prefers."""
    contact_id = _signed_in_contact()
    contact = _tenant_session().get(Contact, contact_id) if contact_id else None
    if contact is not None and contact.preferred_locale:
        use_audience_locale(g.center_tenant, contact.preferred_locale)


@privacy_center.url_defaults
def _add_slug(endpoint: str, values: dict) -> None:
    if "center_tenant" in g and "slug" not in values:
        values["slug"] = g.center_tenant.slug


privacy_center.after_request(commit_audit_with_response)


@privacy_center.context_processor
def _branding() -> dict:
    if "center_ref" not in g:
        return {}
    return {"brand": branding.branding(_tenant_session(), g.center_tenant.name)}


def _tenant_session() -> TenantSession:
    """The request's session for the center's tenant; the app commits it once at the end."""
    if g.get("tenant_session") is None:
        g.tenant_session = TenantSession(g.center_ref)
    return g.tenant_session


def _signed_in_contact() -> uuid.UUID | None:
    return CENTER_SESSION.contact(g.center_ref.id)


def _subject_or_redirect() -> uuid.UUID | Response:
    contact_id = _signed_in_contact()
    if contact_id is None or _tenant_session().get(Contact, contact_id) is None:
        CENTER_SESSION.end()
        return redirect(url_for("privacy_center.start"))
    return contact_id


def _context() -> consent.ConsentContext:
    return consent.ConsentContext(
        source="privacy_center",
        actor=SUBJECT_ACTOR,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )


@privacy_center.errorhandler(LinkRefused)
def _link_refused(error: LinkRefused):
    """A used or expired link lands on the start page, whose form mails a new one."""
    page = render_template("privacy/center_start.html", tenant=g.center_tenant, message=error.detail)
    return page, error.status


@privacy_center.get("/")
def start():
    if _signed_in_contact() is not None:
        return redirect(url_for("privacy_center.home"))
    return render_template("privacy/center_start.html", tenant=g.center_tenant)


@privacy_center.post("/")
@limiter.limit(lambda: current_app.config.get("PRIVACY_LINK_RATE_LIMIT", "5 per minute;20 per hour"))
def request_link():
    try:
        email = validate_email(request.form.get("email", ""), check_deliverability=False).normalized
    except EmailNotValidError:
        page = render_template(
            "privacy/center_start.html", tenant=g.center_tenant, message=N_("Enter a valid email address.")
        )
        return page, 422
    if within_email_limit("PRIVACY_LINK_EMAIL_RATE_LIMIT", "3 per hour", email, scope=g.center_ref.id):
        # Queued for an unknown address too (the job then sends nothing): the same work either way.
        contact_id = contact_id_for_email(_tenant_session(), email)
        enqueue_center_link(g.center_ref.id, contact_id, url_for("privacy_center.start", _external=True))
        target = str(contact_id) if contact_id else None  # an unknown address is written nowhere
        audit_privacy(_tenant_session(), "link.requested", actor=SUBJECT_ACTOR, target=target)
    # The same page whether the email is known or not, its limit spent or not: no customer is revealed.
    return render_template("privacy/center_sent.html", tenant=g.center_tenant)


@privacy_center.get("/enter/<token>")
def enter_form(token: str):
    # Mail scanners follow links: opening shows a button, and only pressing it uses the link.
    read_link_token(token, g.center_ref.id)
    return render_template("privacy/center_enter.html", tenant=g.center_tenant, token=token)


@privacy_center.post("/enter/<token>")
def enter(token: str):
    link = read_link_token(token, g.center_ref.id)
    consume_link(_tenant_session(), link)
    CENTER_SESSION.start(link)
    contact = _tenant_session().get(Contact, link.contact_id)
    if contact is not None and not contact.preferred_locale:
        contact.preferred_locale = current_locale()  # the language this page spoke to them in
    audit_privacy(_tenant_session(), "center.signed_in", actor=SUBJECT_ACTOR, target=str(link.contact_id))
    return redirect(url_for("privacy_center.home"))


@privacy_center.get("/confirm/<token>")
def confirm_form(token: str):
    read_confirmation_token(token, g.center_ref.id)
    return render_template("privacy/center_confirm.html", tenant=g.center_tenant, token=token)


@privacy_center.post("/confirm/<token>")
def confirm(token: str):
    """Double opt-in: the person's click turns their pending email-marketing consent into a grant."""
    event_id = read_confirmation_token(token, g.center_ref.id)
    try:
        consent.confirm_consent(_tenant_session(), event_id, _context())
    except Conflict as error:
        raise LinkRefused(error.detail) from None
    return render_template("privacy/center_confirmed.html", tenant=g.center_tenant)


@privacy_center.get("/home")
def home():
    contact_id = _subject_or_redirect()
    if isinstance(contact_id, Response):
        return contact_id
    tenant_session = _tenant_session()
    return render_template(
        "privacy/center_home.html",
        tenant=g.center_tenant,
        data=collect_personal_data(tenant_session, contact_id),
        purposes=consent.list_purposes(tenant_session),
        state=consent.consent_state(tenant_session, contact_id),
        notices={
            p.key: consent.current_notice(tenant_session, p) for p in consent.list_purposes(tenant_session)
        },
        kinds=SELF_SERVICE_KINDS,
        message=request.args.get("message"),
        languages=LANGUAGES,
        consent_states={status: translate(label) for status, label in CONSENT_STATES.items()},
    )


@privacy_center.post("/consents")
def change_consent():
    contact_id = _subject_or_redirect()
    if isinstance(contact_id, Response):
        return contact_id
    status = "granted" if request.form.get("choice") == "grant" else "withdrawn"
    consent.record_consent(
        _tenant_session(),
        contact_id,
        request.form.get("purpose", ""),
        status,
        _context(),
        notice_version=request.form.get("notice_version", type=int),
    )
    return redirect(url_for("privacy_center.home", message=N_("Your choice was saved.")))


@privacy_center.get("/download")
def download():
    contact_id = _subject_or_redirect()
    if isinstance(contact_id, Response):
        return contact_id
    body = personal_data_json(_tenant_session(), contact_id, g.center_tenant.name)
    audit_privacy(_tenant_session(), "data.downloaded", actor=SUBJECT_ACTOR, target=str(contact_id))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"', "Cache-Control": "no-store"},
    )


@privacy_center.post("/requests")
def open_request():
    contact_id = _subject_or_redirect()
    if isinstance(contact_id, Response):
        return contact_id
    kind = request.form.get("kind", "")
    if kind not in SELF_SERVICE_KINDS:
        return redirect(url_for("privacy_center.home", message=N_("Choose what you are asking for.")))
    tenant_session = _tenant_session()
    requests.open_request(
        tenant_session,
        kind=kind,
        contact_id=contact_id,
        channel="privacy_center",
        actor=SUBJECT_ACTOR,
        verification_method="email_link",  # they signed in with a link mailed to them just now
        details=request.form.get("details"),
    )
    if kind == "objection":  # objecting to direct marketing stops it at once
        for purpose in MARKETING_PURPOSES:
            consent.record_consent(tenant_session, contact_id, purpose, "withdrawn", _context())
    return redirect(
        url_for("privacy_center.home", message=N_("We received your request and will answer within a month."))
    )


@privacy_center.post("/language")
def choose_language():
    """The person chooses the language of the center and of our mail to them."""
    contact_id = _subject_or_redirect()
    if isinstance(contact_id, Response):
        return contact_id
    contact = _tenant_session().get(Contact, contact_id)
    contact.preferred_locale = normalise_locale(request.form.get("locale")) or contact.preferred_locale
    return redirect(url_for("privacy_center.home"))


@privacy_center.post("/sign-out")
def sign_out():
    CENTER_SESSION.end()
    return redirect(url_for("privacy_center.start"))
