"""The member's own mailbox under /t/<slug>/mailbox: connect, settings, sync now, disconnect."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import SaasError, ValidationError
from saas.i18n import translate
from saas.modules.core.activities import acting_user_id
from saas.modules.mailbox import mailboxes, oauth
from saas.modules.mailbox.blueprints import pages
from saas.modules.mailbox.models import SECURITIES
from saas.modules.mailbox.sync import queue_sync
from saas.tenants.routing import current_tenant_session

CONNECT_FIELDS = (
    "email_address", "username", "imap_host", "imap_port", "imap_security",
    "smtp_host", "smtp_port", "smtp_security", "sharing", "first_sync_days",
)  # fmt: skip


def render_settings(*, errors=None, message=None, values=None, status=200):
    """The mailbox page, with a form's errors and message when it is shown again."""
    session = current_tenant_session()
    mailbox = mailboxes.own_mailbox(session, acting_user_id(session))
    return render_template(
        "mailbox/settings.html",
        mailbox=mailbox,
        securities=SECURITIES,
        oauth_providers=list(oauth.configured_providers().values()),
        errors=errors or {},
        message=message,
        values=values or {},
    ), status


@pages.get("/mailbox")
def settings():
    return render_settings()


@pages.post("/mailbox/connect")
def connect():
    session = current_tenant_session()
    data = {name: request.form.get(name, "") for name in CONNECT_FIELDS}
    data["excluded"] = request.form.get("excluded", "")
    try:
        mailbox = mailboxes.connect_mailbox(
            session, acting_user_id(session), {**data, "password": request.form.get("password", "")}
        )
    except ValidationError as error:
        return render_settings(errors=error.errors, message=error.detail, values=data, status=422)
    session.commit()
    queue_sync(g.tenant.id, mailbox.id)
    flash(gettext("Mailbox connected; its mail with your contacts is being synced."))
    return redirect(url_for("mailbox.settings"))


@pages.post("/mailbox/settings")
def update_settings():
    session = current_tenant_session()
    mailbox = mailboxes.require_own_mailbox(session, acting_user_id(session))
    data = {name: request.form.get(name, "") for name in ("sharing", "first_sync_days", "excluded")}
    try:
        mailboxes.update_settings(session, mailbox, data)
    except ValidationError as error:
        return render_settings(errors=error.errors, message=error.detail, values=data, status=422)
    flash(gettext("Mailbox settings saved."))
    return redirect(url_for("mailbox.settings"))


@pages.post("/mailbox/sync")
def sync_now():
    session = current_tenant_session()
    mailbox = mailboxes.require_own_mailbox(session, acting_user_id(session))
    if mailbox.status == "connected":
        queue_sync(g.tenant.id, mailbox.id)
        flash(gettext("A sync of your mailbox has started."))
    return redirect(url_for("mailbox.settings"))


@pages.post("/mailbox/disconnect")
def disconnect():
    session = current_tenant_session()
    mailbox = mailboxes.require_own_mailbox(session, acting_user_id(session))
    keep = request.form.get("synced_mail") != "delete"
    try:
        mailboxes.disconnect_mailbox(session, mailbox, keep_mail=keep)
    except SaasError as error:
        flash(translate(error.detail), "error")
        return redirect(url_for("mailbox.settings"))
    flash(
        gettext("Mailbox disconnected; its password is forgotten.")
        if keep
        else gettext("Mailbox disconnected and its synced mail deleted.")
    )
    return redirect(url_for("mailbox.settings"))
