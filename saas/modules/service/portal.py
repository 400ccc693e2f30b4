"""The customer portal at /portal/<slug>/ and the inbound-mail webhook of a tenant.

Public (no staff account). The end customer proves who they are with the privacy center's kind of
signed, single-use link (its own salt, so a privacy link does not open the portal); the portal's
session then holds that tenant and contact. A customer reaches only tickets they requested: any
other id is a 404. The knowledge base's published articles are readable without signing in.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import (
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from saas.db import TenantSession, db
from saas.errors import AuthenticationFailed, SaasError, ValidationError
from saas.extensions import csrf, limiter
from saas.i18n import N_, use_audience_locale
from saas.jobs import enqueue_for_tenant
from saas.modules.core.models import Contact
from saas.modules.privacy.links import (
    LinkRefused,
    LinkSession,
    consume_link,
    contact_id_for_email,
    read_link_token,
)
from saas.modules.service import email, kb
from saas.modules.service.blueprints import portal
from saas.modules.service.tickets import (
    add_customer_message,
    customer_ticket,
    customer_tickets,
    list_messages,
    rate_ticket,
    tickets,
)
from saas.modules.switches import ModuleDisabled, is_module_enabled
from saas.ratelimits import within_email_limit
from saas.tenants.models import Tenant

PREFIX = "/portal/<slug>"
PORTAL_SESSION = LinkSession("service_portal", timedelta(hours=1))
# How a ticket's status reads to the customer, in their language.
CUSTOMER_STATUS_NAMES = {
    "new": N_("received"),
    "open": N_("in progress"),
    "pending_customer": N_("waiting for your answer"),
    "solved": N_("solved"),
    "closed": N_("closed"),
}
SEND_LINK_JOB = "saas.modules.service.email.send_portal_link"


def _limit(name: str, default: str, methods: list[str] | None = None):
    """A rate limit per client address, overridable in the app's config (tests raise it)."""
    return limiter.limit(lambda: current_app.config.get(name, default), methods=methods)


@portal.url_value_preprocessor
def _bind_portal_to_tenant(endpoint: str | None, values: dict | None) -> None:
    if endpoint == "service_portal.static":
        return
    slug = (values or {}).pop("slug", None)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug)) if slug else None
    if tenant is None:
        abort(404)
    if not is_module_enabled(db.session, tenant.id, "service"):
        raise ModuleDisabled("The Service module is switched off for this workspace. Its data is kept.")
    g.portal_tenant = tenant
    g.portal_ref = tenant.ref
    use_audience_locale(tenant)


@portal.before_request
def _speak_the_customers_language() -> None:
    """Once the customer is signed in, the portal speaks the language their contact prefers."""
    if "portal_ref" not in g:
        return
    contact_id = _signed_in_contact()
    contact = _tenant_session().get(Contact, contact_id) if contact_id else None
    if contact is not None and contact.preferred_locale:
        use_audience_locale(g.portal_tenant, contact.preferred_locale)


@portal.url_defaults
def _add_slug(endpoint: str, values: dict) -> None:
    if "portal_tenant" in g and "slug" not in values:
        values["slug"] = g.portal_tenant.slug


def _tenant_session() -> TenantSession:
    """The request's session for the portal's tenant; the app commits it once at the end."""
    if g.get("tenant_session") is None:
        g.tenant_session = TenantSession(g.portal_ref)
    return g.tenant_session


def _signed_in_contact() -> uuid.UUID | None:
    contact_id = PORTAL_SESSION.contact(g.portal_ref.id)
    if contact_id is not None and _tenant_session().get(Contact, contact_id) is None:  # erased since
        PORTAL_SESSION.end()
        return None
    return contact_id


def _customer() -> uuid.UUID:
    contact_id = _signed_in_contact()
    if contact_id is None:
        abort(redirect(url_for("service_portal.start")))
    return contact_id


@portal.context_processor
def _portal_context() -> dict:
    if "portal_tenant" not in g:
        return {}
    return {
        "tenant": g.portal_tenant,
        "signed_in": _signed_in_contact() is not None,
        "ticket_statuses": CUSTOMER_STATUS_NAMES,
    }


# --- signing in -----------------------------------------------------------------------------------


@portal.errorhandler(LinkRefused)
def _link_refused(error: LinkRefused):
    """A used or expired sign-in link lands on the start page, whose form mails a new one."""
    return render_template("service/portal/start.html", message=error.detail), error.status


@portal.get(f"{PREFIX}/")
def start():
    if _signed_in_contact() is not None:
        return redirect(url_for("service_portal.my_tickets"))
    return render_template("service/portal/start.html")


@portal.post(f"{PREFIX}/")
@_limit("PORTAL_LINK_RATE_LIMIT", "5 per minute;20 per hour")
def request_link():
    try:
        address = validate_email(request.form.get("email", ""), check_deliverability=False).normalized
    except EmailNotValidError:
        return render_template("service/portal/start.html", message=N_("Enter a valid email address.")), 422
    if within_email_limit("PORTAL_LINK_EMAIL_RATE_LIMIT", "3 per hour", address, scope=g.portal_ref.id):
        # Queued for an unknown address too (the job then sends nothing): the same work either way.
        contact_id = contact_id_for_email(_tenant_session(), address)
        start_url = url_for("service_portal.start", _external=True)
        enqueue_for_tenant(g.portal_ref.id, SEND_LINK_JOB, str(contact_id) if contact_id else None, start_url)
    # The same page whether the email is known or not, its limit spent or not: no customer is revealed.
    return render_template("service/portal/sent.html")


@portal.get(f"{PREFIX}/enter/<token>")
def enter_form(token: str):
    # Mail scanners follow links: opening shows a button, and only pressing it uses the link.
    read_link_token(token, g.portal_ref.id, salt=email.PORTAL_LINK_SALT)
    return render_template("service/portal/enter.html", token=token)


@portal.post(f"{PREFIX}/enter/<token>")
def enter(token: str):
    link = read_link_token(token, g.portal_ref.id, salt=email.PORTAL_LINK_SALT)
    consume_link(_tenant_session(), link)
    PORTAL_SESSION.start(link)
    return redirect(url_for("service_portal.my_tickets"))


@portal.post(f"{PREFIX}/sign-out")
def sign_out():
    PORTAL_SESSION.end()
    return redirect(url_for("service_portal.start"))


# --- tickets --------------------------------------------------------------------------------------


@portal.get(f"{PREFIX}/tickets")
def my_tickets():
    contact_id = _customer()
    return render_template(
        "service/portal/tickets.html", tickets=customer_tickets(_tenant_session(), contact_id)
    )


@portal.route(f"{PREFIX}/tickets/new", methods=["GET", "POST"])
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day", methods=["POST"])
def new_ticket():
    contact_id = _customer()
    values = {"subject": request.form.get("subject", ""), "description": request.form.get("description", "")}
    if request.method == "GET":
        return render_template("service/portal/new.html", values=values, errors={}, suggestions=[])
    session_ = _tenant_session()
    subject, description = values["subject"].strip(), values["description"].strip()
    errors = {}
    if not subject or len(subject) > 200:
        errors["subject"] = [N_("A short summary, up to 200 characters.")]
    if not description or len(description) > 100_000:
        errors["description"] = [N_("Tell us what happened.")]
    if errors:
        suggestions = kb.suggest_articles(session_, f"{subject} {description}")
        return render_template(
            "service/portal/new.html", values=values, errors=errors, suggestions=suggestions
        ), 422
    ticket = tickets.create(
        session_,
        {
            "subject": subject,
            "description": description,
            "channel": "portal",
            "requester_contact_id": contact_id,
        },
        actor="customer",
    )
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("We received your request."))
    )


@portal.get(f"{PREFIX}/tickets/<uuid:ticket_id>")
def show_ticket(ticket_id: uuid.UUID):
    contact_id = _customer()
    session_ = _tenant_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    return render_template(
        "service/portal/ticket.html",
        ticket=ticket,
        messages=list_messages(session_, ticket.id, public_only=True),
        contact_id=contact_id,
        message=request.args.get("message"),
    )


@portal.post(f"{PREFIX}/tickets/<uuid:ticket_id>/reply")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def reply(ticket_id: uuid.UUID):
    contact_id = _customer()
    session_ = _tenant_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    try:
        add_customer_message(session_, ticket, contact_id, request.form.get("body", ""), channel="portal")
    except (ValidationError, SaasError) as error:
        return redirect(url_for("service_portal.show_ticket", ticket_id=ticket.id, message=error.detail))
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Your reply was sent."))
    )


@portal.post(f"{PREFIX}/tickets/<uuid:ticket_id>/files")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def attach_file(ticket_id: uuid.UUID):
    """The customer attaches a file to their ticket (the files module stores and checks it)."""
    from saas.modules.files import services as files

    contact_id = _customer()
    session_ = _tenant_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(N_("Choose a file to attach."))
        files.attach_file(
            session_, "tickets", ticket.id, upload.stream, upload.filename, contact_id=contact_id
        )
    except SaasError as error:
        return redirect(url_for("service_portal.show_ticket", ticket_id=ticket.id, message=error.detail))
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Your file was attached."))
    )


@portal.post(f"{PREFIX}/tickets/<uuid:ticket_id>/rate")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def rate(ticket_id: uuid.UUID):
    contact_id = _customer()
    session_ = _tenant_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    rating = request.form.get("rating", "")
    try:
        rate_ticket(session_, ticket, int(rating) if rating.isdigit() else 0, request.form.get("comment"))
    except SaasError as error:
        return redirect(url_for("service_portal.show_ticket", ticket_id=ticket.id, message=error.detail))
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Thank you for your rating."))
    )


# --- knowledge base -------------------------------------------------------------------------------


@portal.get(f"{PREFIX}/kb")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def knowledge_base():
    session_ = _tenant_session()
    q = (request.args.get("q") or "").strip()[:500]
    articles = kb.search_articles(session_, q) if q else kb.list_articles(session_, published_only=True)
    return render_template("service/portal/kb.html", articles=articles, q=q)


@portal.get(f"{PREFIX}/kb/<uuid:article_id>")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def article(article_id: uuid.UUID):
    found = kb.get_article(_tenant_session(), article_id, published_only=True)
    return render_template("service/portal/article.html", article=found)


@portal.get(f"{PREFIX}/kb/suggest")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def suggest():
    """Articles for what the customer has typed so far (the new-ticket page asks as they write)."""
    text = (request.args.get("q") or "")[:1000]
    return render_template(
        "service/portal/suggestions.html", suggestions=kb.suggest_articles(_tenant_session(), text)
    )


# --- inbound mail ---------------------------------------------------------------------------------


@portal.post("/api/v1/service/inbound-mail/<slug>")
@csrf.exempt
@_limit("INBOUND_MAIL_RATE_LIMIT", "120 per minute")
def inbound_mail():
    """A raw RFC 822 message (``Content-Type: message/rfc822``) from a mail provider's inbound hook,
    authenticated by the tenant's inbound secret as a bearer token."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not given or not _same(given, email.inbound_secret(g.portal_ref.id)):
        raise AuthenticationFailed("A valid `Authorization: Bearer <inbound secret>` header is required.")
    raw = request.get_data(cache=False)
    if not raw:
        raise ValidationError("The body must be a raw RFC 822 message.", {"body": ["Required."]})
    delivered = email.receive_mail(_tenant_session(), raw)
    status = 201 if delivered.created else 200
    return jsonify(
        ticket_id=str(delivered.ticket_id), created=delivered.created, duplicate=delivered.duplicate
    ), status


def _same(given: str, expected: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), expected.encode())
