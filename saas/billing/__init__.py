"""Billing with Stripe: plans and meters as data, trials at signup, a usage ledger reported to Stripe
meter events, verified webhooks, and the lifecycle that makes a lapsed tenant read-only.

:func:`init_app` wires it in: settings, pages, the webhook, the tenant guard, the signup receiver
and the UI banner. The product's core never imports billing; billing hooks into it.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask_login import user_logged_in

from saas.db import TenantRef


def _start_trial_on_signup(sender: TenantRef, *, actor: str = "signup", **_: object) -> None:
    from saas.billing.services import start_trial

    start_trial(sender, actor=actor)


def _count_sign_in(sender: Flask, user) -> None:
    from saas.billing.usage import record_sign_in

    record_sign_in(user)


def init_app(app: Flask) -> None:
    from saas import extensions
    from saas.billing import views
    from saas.billing.entitlements import billing_banner, enforce_entitlements
    from saas.billing.jobs import register_periodic_jobs
    from saas.tenants.routing import install_tenant_page_routing, register_tenant_guard
    from saas.tenants.signals import tenant_provisioned

    # The SDK logs every request at INFO, with object ids in the URLs: keep that out of the app's logs.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    settings = app.config["SAAS_SETTINGS"]
    app.config.setdefault("STRIPE_API_KEY", settings.stripe_api_key)
    app.config.setdefault("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret)
    app.config.setdefault("STRIPE_API_BASE", settings.stripe_api_base)

    install_tenant_page_routing(views.settings_pages)
    app.register_blueprint(views.settings_pages, url_prefix="/t/<slug>")
    app.register_blueprint(views.public_pages)
    for blueprint in (views.settings_pages, views.public_pages):
        blueprint.enable_openapi = False
    # Stripe signs the webhook; there is no browser session for CSRF to protect.
    extensions.csrf.exempt(views.webhook)
    register_tenant_guard(enforce_entitlements)
    register_periodic_jobs()
    tenant_provisioned.connect(_start_trial_on_signup)
    # Every sign-in counts, whichever page signed the user in (login form, signup, SSO later).
    user_logged_in.connect(_count_sign_in)
    app.context_processor(lambda: {"billing_banner": billing_banner})
    app.add_template_filter(views.money, "money")
