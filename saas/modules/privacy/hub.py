"""The customer hub at /hub/<slug>/: the one place a workspace's end customers sign in to.

The privacy module owns it because it is always on: whatever else a workspace switches off, its
customers keep a place to see their data, change their consents and ask for erasure. Other modules
add sections through ``Module.hub_sections`` and serve their own pages under ``HUB_PREFIX`` with
``serve_hub_pages`` (tickets, the knowledge base); the hub names none of them.

Public (no account). A person proves who they are with a signed, single-use link mailed to them; the
hub's own session then holds that tenant and contact, apart from any staff login.
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

from saas.db import TenantSession, db
from saas.errors import Conflict
from saas.extensions import limiter
from saas.i18n import LANGUAGES, N_, current_locale, normalise_locale, use_audience_locale
from saas.modules.core.models import Contact
from saas.modules.privacy import branding, consent, requests
from saas.modules.privacy.audit import audit_privacy, commit_audit_with_response
from saas.modules.privacy.hub_sections import MARKETING_PURPOSES, SELF_SERVICE_KINDS
from saas.modules.privacy.links import (
    LinkRefused,
    LinkSession,
    consume_link,
    contact_id_for_email,
    enqueue_hub_link,
    read_confirmation_token,
    read_link_token,
)
from saas.modules.privacy.subject import personal_data_json
from saas.modules.registry import HubSection, registry
from saas.modules.switches import enabled_module_keys, public_workspace
from saas.ratelimits import within_email_limit

HUB_PREFIX = "/hub/<slug>"
# The stricter of the two places it replaces (privacy center 30 minutes, portal an hour): it shows and
# downloads personal data.
HUB_SESSION = LinkSession("customer_hub", timedelta(minutes=30))
SUBJECT_ACTOR = "data_subject"

customer_hub = Blueprint("customer_hub", __name__, template_folder="templates", url_prefix=HUB_PREFIX)


# --- what every hub page shares, whichever module serves it ---------------------------------------


def serve_hub_pages(blueprint: Blueprint, module_key: str | None = None) -> None:
    """Make ``blueprint``'s routes (under ``HUB_PREFIX``, or any with a ``<slug>``) pages of the hub:
    bound to the slug's workspace, in the customer's language, branded, with the hub's sign-in; those
    of ``module_key`` answer 404 while that module is switched off for the workspace."""

    def bind_to_workspace(endpoint: str | None, values: dict | None) -> None:
        if endpoint is not None and endpoint.endswith(".static"):
            return
        if module_key is None:
            tenant = public_workspace(values)
        else:
            title = registry.get(module_key).title
            refusal = N_(
                "The %(module)s module is switched off for this workspace. Its data is kept.",
                module=title,
                translated=("module",),
            )
            tenant = public_workspace(values, module_key, refusal=refusal)
        g.hub_tenant = tenant
        g.hub_ref = tenant.ref
        use_audience_locale(tenant)

    blueprint.url_value_preprocessor(bind_to_workspace)
    blueprint.before_request(_speak_the_customers_language)
    blueprint.url_defaults(_add_slug)
    blueprint.context_processor(_hub_context)
    blueprint.register_error_handler(LinkRefused, _link_refused)
    blueprint.after_request(commit_audit_with_response)


def _speak_the_customers_language() -> None:
    """Once the customer is known, the hub speaks the language their contact prefers."""
    if "hub_ref" not in g:
        return
    contact_id = hub_contact()
    contact = hub_session().get(Contact, contact_id) if contact_id else None
    if contact is not None and contact.preferred_locale:
        use_audience_locale(g.hub_tenant, contact.preferred_locale)


def _add_slug(endpoint: str, values: dict) -> None:
    if "hub_tenant" in g and "slug" not in values and not endpoint.endswith(".static"):
        values["slug"] = g.hub_tenant.slug


def _hub_context() -> dict:
    if "hub_ref" not in g:
        return {}
    signed_in = hub_contact() is not None
    return {
        "tenant": g.hub_tenant,
        "brand": branding.branding(hub_session(), g.hub_tenant.name),
        "signed_in": signed_in,
        "hub_nav": visible_sections(signed_in),
    }


def _link_refused(error: LinkRefused):
    """A used or expired link lands on the start page, whose form mails a new one."""
    return _start_page(message=error.detail), error.status


def hub_session() -> TenantSession:
    """The request's session for the hub's workspace; the app commits it once at the end."""
    if g.get("tenant_session") is None:
        g.tenant_session = TenantSession(g.hub_ref)
    return g.tenant_session


def hub_contact() -> uuid.UUID | None:
    """The contact this browser signed in as, for this workspace only; none once the contact is erased."""
    contact_id = HUB_SESSION.contact(g.hub_ref.id)
    if contact_id is not None and hub_session().get(Contact, contact_id) is None:
        HUB_SESSION.end()
        return None
    return contact_id


def require_hub_contact() -> uuid.UUID:
    """The signed-in contact; anyone else is sent to the start page, which mails a sign-in link."""
    contact_id = hub_contact()
    if contact_id is None:
        abort(redirect(url_for("customer_hub.start")))
    return contact_id


def visible_sections(signed_in: bool) -> list[HubSection]:
    """The sections of the workspace's enabled modules; before sign-in only those open to anyone."""
    enabled = enabled_module_keys(db.session, g.hub_tenant.id)
    found = [
        section
        for module in registry
        if module.key in enabled
        for section in module.hub_sections
        if signed_in or section.signed_out
    ]
    return sorted(found, key=lambda section: (section.order, section.key))


def hub_address(slug: str, path: str) -> str:
    """``path`` under workspace ``slug``'s hub, with the request's query string: where an old address of
    the same path (the privacy center's, the portal's) now leads."""
    query = request.query_string.decode()
    return url_for("customer_hub.start", slug=slug) + path + (f"?{query}" if query else "")


def _loaded_sections(contact_id: uuid.UUID | None) -> list[tuple[HubSection, dict]]:
    return [
        (section, section.load(hub_session(), contact_id))
        for section in visible_sections(contact_id is not None)
    ]


serve_hub_pages(customer_hub)


# --- signing in -----------------------------------------------------------------------------------


def _start_page(message: str | None = None) -> str:
    return render_template("privacy/hub_start.html", sections=_loaded_sections(None), message=message)


@customer_hub.get("/")
def start():
    if hub_contact() is not None:
        return redirect(url_for("customer_hub.home"))
    return _start_page()


@customer_hub.post("/")
@limiter.limit(lambda: current_app.config.get("PRIVACY_LINK_RATE_LIMIT", "5 per minute;20 per hour"))
def request_link():
    try:
        email = validate_email(request.form.get("email", ""), check_deliverability=False).normalized
    except EmailNotValidError:
        return _start_page(message=N_("Enter a valid email address.")), 422
    if within_email_limit("PRIVACY_LINK_EMAIL_RATE_LIMIT", "3 per hour", email, scope=g.hub_ref.id):
        # Queued for an unknown address too (the job then sends nothing): the same work either way.
        contact_id = contact_id_for_email(hub_session(), email)
        enqueue_hub_link(g.hub_ref.id, contact_id, url_for("customer_hub.start", _external=True))
        target = str(contact_id) if contact_id else None  # an unknown address is written nowhere
        audit_privacy(hub_session(), "link.requested", actor=SUBJECT_ACTOR, target=target)
    # The same page whether the email is known or not, its limit spent or not: no customer is revealed.
    return render_template("privacy/hub_sent.html")


@customer_hub.get("/enter/<token>")
def enter_form(token: str):
    # Mail scanners follow links: opening shows a button, and only pressing it uses the link.
    read_link_token(token, g.hub_ref.id)
    return render_template("privacy/hub_enter.html", token=token)


@customer_hub.post("/enter/<token>")
def enter(token: str):
    link = read_link_token(token, g.hub_ref.id)
    consume_link(hub_session(), link)
    HUB_SESSION.start(link)
    contact = hub_session().get(Contact, link.contact_id)
    if contact is not None and not contact.preferred_locale:
        contact.preferred_locale = current_locale()  # the language this page spoke to them in
    audit_privacy(hub_session(), "center.signed_in", actor=SUBJECT_ACTOR, target=str(link.contact_id))
    return redirect(url_for("customer_hub.home"))


@customer_hub.post("/sign-out")
def sign_out():
    HUB_SESSION.end()
    return redirect(url_for("customer_hub.start"))


@customer_hub.get("/confirm/<token>")
def confirm_form(token: str):
    read_confirmation_token(token, g.hub_ref.id)
    return render_template("privacy/hub_confirm.html", token=token)


@customer_hub.post("/confirm/<token>")
def confirm(token: str):
    """Double opt-in: the person's click turns their pending email-marketing consent into a grant."""
    event_id = read_confirmation_token(token, g.hub_ref.id)
    try:
        consent.confirm_consent(hub_session(), event_id, _context())
    except Conflict as error:
        raise LinkRefused(error.detail) from None
    return render_template("privacy/hub_confirmed.html")


# --- the hub's page and the privacy sections' actions ---------------------------------------------


@customer_hub.get("/home")
def home():
    contact_id = require_hub_contact()
    return render_template(
        "privacy/hub_home.html",
        contact=hub_session().get(Contact, contact_id),
        sections=_loaded_sections(contact_id),
        message=request.args.get("message"),
        languages=LANGUAGES,
    )


def _context() -> consent.ConsentContext:
    return consent.ConsentContext(
        source="privacy_center",
        actor=SUBJECT_ACTOR,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )


def _back_home(message: str, section: str) -> Response:
    return redirect(url_for("customer_hub.home", message=message, _anchor=f"hub-{section}"))


@customer_hub.post("/consents")
def change_consent():
    contact_id = require_hub_contact()
    status = "granted" if request.form.get("choice") == "grant" else "withdrawn"
    consent.record_consent(
        hub_session(),
        contact_id,
        request.form.get("purpose", ""),
        status,
        _context(),
        notice_version=request.form.get("notice_version", type=int),
    )
    return _back_home(N_("Your choice was saved."), "consents")


@customer_hub.get("/download")
def download():
    contact_id = require_hub_contact()
    body = personal_data_json(hub_session(), contact_id, g.hub_tenant.name)
    audit_privacy(hub_session(), "data.downloaded", actor=SUBJECT_ACTOR, target=str(contact_id))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"', "Cache-Control": "no-store"},
    )


@customer_hub.post("/requests")
def open_request():
    contact_id = require_hub_contact()
    kind = request.form.get("kind", "")
    if kind not in SELF_SERVICE_KINDS:
        return _back_home(N_("Choose what you are asking for."), "requests")
    session = hub_session()
    requests.open_request(
        session,
        kind=kind,
        contact_id=contact_id,
        channel="privacy_center",
        actor=SUBJECT_ACTOR,
        verification_method="email_link",  # they signed in with a link mailed to them just now
        details=request.form.get("details"),
    )
    if kind == "objection":  # objecting to direct marketing stops it at once
        for purpose in MARKETING_PURPOSES:
            consent.record_consent(session, contact_id, purpose, "withdrawn", _context())
    return _back_home(N_("We received your request and will answer within a month."), "requests")


@customer_hub.post("/language")
def choose_language():
    """The person chooses the language of the hub and of our mail to them."""
    contact_id = require_hub_contact()
    contact = hub_session().get(Contact, contact_id)
    contact.preferred_locale = normalise_locale(request.form.get("locale")) or contact.preferred_locale
    return redirect(url_for("customer_hub.home"))
