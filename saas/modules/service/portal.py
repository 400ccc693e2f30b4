"""The service module's part of the customer hub, the old portal's addresses, and the inbound-mail hook.

A customer's tickets and the knowledge base are pages of the hub under /hub/<slug>/ (its sign-in, session,
language and branding: ``serve_hub_pages``) and sections of the hub's own page. A customer reaches only
tickets they requested: any other id is a 404. Published articles are readable without signing in. The
portal's old addresses /portal/<slug>/... redirect to the hub's, its mailed sign-in links included.
"""

from __future__ import annotations

import uuid

from flask import (
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from saas.db import TenantSession
from saas.errors import AuthenticationFailed, SaasError, ValidationError
from saas.extensions import csrf, limiter
from saas.i18n import N_, translate
from saas.modules.privacy.hub import (
    HUB_PREFIX,
    hub_address,
    hub_session,
    require_hub_contact,
    serve_hub_pages,
)
from saas.modules.privacy.links import carry_link_over
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

PORTAL_PREFIX = "/portal/<slug>"
# How a ticket's status reads to the customer, in their language.
CUSTOMER_STATUS_NAMES = {
    "new": N_("received"),
    "open": N_("in progress"),
    "pending_customer": N_("waiting for your answer"),
    "solved": N_("solved"),
    "closed": N_("closed"),
}
KB_SECTION_ARTICLES = 5

serve_hub_pages(portal, module_key="service")


def _limit(name: str, default: str, methods: list[str] | None = None):
    """A rate limit per client address, overridable in the app's config (tests raise it)."""
    return limiter.limit(lambda: current_app.config.get(name, default), methods=methods)


@portal.context_processor
def _ticket_statuses() -> dict:
    return {"ticket_statuses": CUSTOMER_STATUS_NAMES}


# --- the hub's sections ---------------------------------------------------------------------------


def tickets_section(session: TenantSession, contact_id: uuid.UUID | None) -> dict:
    """The signed-in customer's tickets, newest first."""
    return {"tickets": customer_tickets(session, contact_id), "statuses": CUSTOMER_STATUS_NAMES}


def knowledge_base_section(session: TenantSession, contact_id: uuid.UUID | None) -> dict:
    """A few published articles and the search, for anyone."""
    return {"articles": kb.list_articles(session, published_only=True, limit=KB_SECTION_ARTICLES)}


# --- the portal's old addresses -------------------------------------------------------------------


@portal.route(f"{PORTAL_PREFIX}/", defaults={"rest": ""}, methods=["GET", "POST"])
@portal.route(f"{PORTAL_PREFIX}/<path:rest>", methods=["GET", "POST"])
def old_portal_address(rest: str):
    """The same path in the hub (``tickets`` there leads to the hub's tickets section); 308 keeps a
    form's POST a POST, so a page opened before the move still submits."""
    return redirect(hub_address(g.hub_tenant.slug, rest), 308)


@portal.route(f"{PORTAL_PREFIX}/enter/<token>", methods=["GET", "POST"])
def old_portal_link(token: str):
    """A sign-in link the portal mailed: signed again as a hub link (same id, same expiry), then the
    hub's own door, where it is used once like any other."""
    hub_token = carry_link_over(token, g.hub_ref.id, from_salt=email.PORTAL_LINK_SALT)
    return redirect(url_for("customer_hub.enter_form", token=hub_token), 303)


# --- tickets --------------------------------------------------------------------------------------


@portal.get(f"{HUB_PREFIX}/tickets")
def my_tickets():
    require_hub_contact()
    return redirect(url_for("customer_hub.home", _anchor="hub-tickets"))


@portal.route(f"{HUB_PREFIX}/tickets/new", methods=["GET", "POST"])
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day", methods=["POST"])
def new_ticket():
    contact_id = require_hub_contact()
    values = {"subject": request.form.get("subject", ""), "description": request.form.get("description", "")}
    if request.method == "GET":
        return render_template("service/portal/new.html", values=values, errors={}, suggestions=[])
    session_ = hub_session()
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


@portal.get(f"{HUB_PREFIX}/tickets/<uuid:ticket_id>")
def show_ticket(ticket_id: uuid.UUID):
    contact_id = require_hub_contact()
    session_ = hub_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    return render_template(
        "service/portal/ticket.html",
        ticket=ticket,
        messages=list_messages(session_, ticket.id, public_only=True),
        contact_id=contact_id,
        message=request.args.get("message"),
    )


@portal.post(f"{HUB_PREFIX}/tickets/<uuid:ticket_id>/reply")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def reply(ticket_id: uuid.UUID):
    contact_id = require_hub_contact()
    session_ = hub_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    try:
        add_customer_message(session_, ticket, contact_id, request.form.get("body", ""), channel="portal")
    except (ValidationError, SaasError) as error:
        return redirect(
            url_for("service_portal.show_ticket", ticket_id=ticket.id, message=translate(error.detail))
        )
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Your reply was sent."))
    )


@portal.post(f"{HUB_PREFIX}/tickets/<uuid:ticket_id>/files")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def attach_file(ticket_id: uuid.UUID):
    """The customer attaches a file to their ticket (the files module stores and checks it)."""
    from saas.modules.files import services as files

    contact_id = require_hub_contact()
    session_ = hub_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(N_("Choose a file to attach."))
        files.attach_file(
            session_, "tickets", ticket.id, upload.stream, upload.filename, contact_id=contact_id
        )
    except SaasError as error:
        return redirect(
            url_for("service_portal.show_ticket", ticket_id=ticket.id, message=translate(error.detail))
        )
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Your file was attached."))
    )


@portal.post(f"{HUB_PREFIX}/tickets/<uuid:ticket_id>/rate")
@_limit("PORTAL_WRITE_RATE_LIMIT", "10 per minute;100 per day")
def rate(ticket_id: uuid.UUID):
    contact_id = require_hub_contact()
    session_ = hub_session()
    ticket = customer_ticket(session_, contact_id, ticket_id)
    rating = request.form.get("rating", "")
    try:
        rate_ticket(session_, ticket, int(rating) if rating.isdigit() else 0, request.form.get("comment"))
    except SaasError as error:
        return redirect(
            url_for("service_portal.show_ticket", ticket_id=ticket.id, message=translate(error.detail))
        )
    return redirect(
        url_for("service_portal.show_ticket", ticket_id=ticket.id, message=N_("Thank you for your rating."))
    )


# --- knowledge base -------------------------------------------------------------------------------


@portal.get(f"{HUB_PREFIX}/kb")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def knowledge_base():
    session_ = hub_session()
    q = (request.args.get("q") or "").strip()[:500]
    articles = kb.search_articles(session_, q) if q else kb.list_articles(session_, published_only=True)
    return render_template("service/portal/kb.html", articles=articles, q=q)


@portal.get(f"{HUB_PREFIX}/kb/<uuid:article_id>")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def article(article_id: uuid.UUID):
    found = kb.get_article(hub_session(), article_id, published_only=True)
    return render_template("service/portal/article.html", article=found)


@portal.get(f"{HUB_PREFIX}/kb/suggest")
@_limit("PORTAL_READ_RATE_LIMIT", "120 per minute")
def suggest():
    """Articles for what the customer has typed so far (the new-ticket page asks as they write)."""
    text = (request.args.get("q") or "")[:1000]
    return render_template(
        "service/portal/suggestions.html", suggestions=kb.suggest_articles(hub_session(), text)
    )


# --- inbound mail ---------------------------------------------------------------------------------


@portal.post("/api/v1/service/inbound-mail/<slug>")
@csrf.exempt
@_limit("INBOUND_MAIL_RATE_LIMIT", "120 per minute")
def inbound_mail():
    """A raw RFC 822 message (``Content-Type: message/rfc822``) from a mail provider's inbound hook,
    authenticated by the tenant's inbound secret as a bearer token."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not given or not _same(given, email.inbound_secret(g.hub_ref.id)):
        raise AuthenticationFailed("A valid `Authorization: Bearer <inbound secret>` header is required.")
    raw = request.get_data(cache=False)
    if not raw:
        raise ValidationError("The body must be a raw RFC 822 message.", {"body": ["Required."]})
    delivered = email.receive_mail(hub_session(), raw)
    status = 201 if delivered.created else 200
    return jsonify(
        ticket_id=str(delivered.ticket_id), created=delivered.created, duplicate=delivered.duplicate
    ), status


def _same(given: str, expected: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), expected.encode())
