"""Retention policies and suppression (owners and admins)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.modules.privacy import retention, subject
from saas.modules.privacy.audit import staff_actor
from saas.modules.privacy.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/privacy/retention")
def retention_page():
    """The policy and its dry run: who would be deleted if it ran now."""
    session = current_tenant_session()
    policy = retention.get_policy(session)
    months = request.args.get("months", type=int) or (policy.months if policy else 24)
    count, sample = retention.preview(session, months) if 1 <= months <= 240 else (0, [])
    return render_template("privacy/retention.html", policy=policy, months=months, count=count, sample=sample)


@pages.post("/privacy/retention")
def save_retention():
    retention.set_policy(
        current_tenant_session(),
        months=request.form.get("months", type=int) or 0,
        enabled=request.form.get("enabled") == "1",
        actor=staff_actor(),
    )
    flash(_("Retention policy saved."))
    return redirect(url_for("privacy.retention_page"))


@pages.post("/privacy/retention/run")
def run_retention():
    retention.enqueue_retention(g.tenant.id)
    flash(_("Retention runs now in the background."))
    return redirect(url_for("privacy.retention_page"))


@pages.post("/privacy/suppression/lift")
def lift_suppression():
    """Override: an erased person may be recorded again when staff state a lawful reason."""
    lifted = subject.lift_suppression(
        current_tenant_session(),
        request.form.get("email", ""),
        request.form.get("lawful_reason", ""),
        staff_actor(),
    )
    flash(_("This person may be recorded again.") if lifted else _("This email was not on the erasure list."))
    return redirect(url_for("privacy.request_queue"))
