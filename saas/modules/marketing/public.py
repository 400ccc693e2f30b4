"""Public routes under /m/<slug>/: open pixel, click redirects, unsubscribe, lead-capture forms.

No login: each link carries a signed token naming its tenant (see :mod:`.tracking` and :mod:`.forms`).
A switched-off module answers 404 here too. Unsubscribe and form posts come from mail clients and other
sites, so they are exempt from CSRF (nothing a forged post could do that the link itself cannot) and
rate-limited per client address.
"""

from __future__ import annotations

import base64

from flask import Response, current_app, g, redirect, render_template, request, url_for

from saas.db import TenantSession
from saas.errors import ValidationError
from saas.extensions import EMBEDDABLE, csrf, limiter, security_headers
from saas.i18n import current_locale, use_audience_locale
from saas.modules.marketing import forms, tracking
from saas.modules.marketing.blueprints import public
from saas.modules.privacy.audit import commit_audit_with_response
from saas.modules.privacy.consent import ConsentContext
from saas.modules.switches import public_workspace

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}
# Consent changes audit on the platform session: committed only with a successful answer.
public.after_request(commit_audit_with_response)


def _rate_limit() -> str:
    return current_app.config.get("MARKETING_PUBLIC_RATE_LIMIT", "20 per minute;200 per hour")


@public.url_value_preprocessor
def _bind_to_tenant(endpoint: str | None, values: dict | None) -> None:
    tenant = public_workspace(values, "marketing")
    g.public_tenant = tenant
    use_audience_locale(tenant)
    # The app commits this session once the response is a success (one transaction per request).
    g.tenant_session = TenantSession(tenant.ref)


@public.url_defaults
def _add_slug(endpoint: str, values: dict) -> None:
    if "public_tenant" in g and "slug" not in values:
        values["slug"] = g.public_tenant.slug


def _session() -> TenantSession:
    return g.tenant_session


@public.get("/o/<token>.gif")
def open_pixel(token: str):
    tracking.record_open(_session(), token)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)


@public.get("/c/<token>")
def click(token: str):
    # Only a URL stored with the campaign: the token picks a link, it never carries one.
    return redirect(tracking.record_click(_session(), token), code=302)


@public.get("/u/<token>")
def unsubscribe_page(token: str):
    # Mail scanners follow links: opening shows a button, only pressing it (or RFC 8058's POST) acts.
    campaign = tracking.check_unsubscribe(_session(), token)
    return render_template(
        "marketing/unsubscribe.html", tenant=g.public_tenant, campaign=campaign, token=token, done=False
    )


@public.post("/u/<token>")
@csrf.exempt
@limiter.limit(_rate_limit)
def unsubscribe(token: str):
    """One click (RFC 8058: a POST with ``List-Unsubscribe=One-Click``) or the page's button."""
    campaign = tracking.check_unsubscribe(_session(), token)
    tracking.unsubscribe(_session(), token, ip=request.remote_addr, user_agent=request.user_agent.string)
    page = render_template(
        "marketing/unsubscribe.html", tenant=g.public_tenant, campaign=campaign, token=token, done=True
    )
    return Response(page, headers=NO_STORE)


def _form_page(form, *, errors=None, values=None, done=False, status=200):
    page = render_template(
        "marketing/public_form.html",
        tenant=g.public_tenant,
        form=form,
        fields=forms.FORM_FIELDS,
        consents=forms.form_consents(_session(), form),
        errors=errors or {},
        values=values or {},
        done=done,
        honeypot=forms.HONEYPOT,
    )
    return page, status


# Forms are made to be embedded in the workspace's own site (the iframe snippet on the form's page).
@public.get("/f/<token>")
@security_headers(**EMBEDDABLE)
def show_form(token: str):
    return _form_page(forms.form_for_token(_session(), token))


@public.post("/f/<token>")
@security_headers(**EMBEDDABLE)  # the thanks page, or the form with its messages, inside that frame
@csrf.exempt
@limiter.limit(_rate_limit)
def submit_form(token: str):
    session = _session()
    form = forms.form_for_token(session, token)
    context = ConsentContext(
        source="form", actor="data_subject", ip=request.remote_addr, user_agent=request.user_agent.string
    )
    center_url = url_for("customer_hub.start", slug=g.public_tenant.slug, _external=True)
    try:
        forms.submit_form(session, form, request.form.to_dict(), context, center_url, locale=current_locale())
    except ValidationError as error:
        return _form_page(form, errors=error.errors, values=request.form, status=422)
    return _form_page(form, done=True)
