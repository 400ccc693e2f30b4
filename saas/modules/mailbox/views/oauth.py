"""Connecting a mailbox through an OAuth provider: a POST sends the member to the provider, which sends
them back to the shared callback (``views/public.py``) and from there to ``oauth_finish`` here."""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.modules.core.activities import acting_user_id
from saas.modules.mailbox import mailboxes, oauth
from saas.modules.mailbox.blueprints import pages
from saas.modules.mailbox.sync import queue_sync
from saas.modules.mailbox.views.mailbox import render_settings
from saas.tenants.routing import current_tenant_session

_PENDING_KEY = "mailbox_oauth"


def _redirect_uri() -> str:
    return url_for("mailbox_public.oauth_callback", _external=True)


def pending_slug() -> str | None:
    """The workspace a connection now under way started from (for the shared callback)."""
    data = session.get(_PENDING_KEY)
    return data.get("slug") if isinstance(data, dict) else None


# A POST with the CSRF token: a foreign page must not start a connection in the member's name.
@pages.post("/mailbox/oauth/<provider>")
def oauth_start(provider: str):
    tenant_session = current_tenant_session()
    try:
        chosen = oauth.provider_named(provider)
    except ValidationError as error:
        return render_settings(errors=error.errors, message=error.detail, status=422)
    url, pending = oauth.begin_connect(chosen, g.tenant.id, acting_user_id(tenant_session), _redirect_uri())
    session[_PENDING_KEY] = {**pending.as_dict(), "slug": g.tenant.slug}
    return redirect(url)


@pages.get("/mailbox/oauth/finish")
def oauth_finish():
    tenant_session = current_tenant_session()
    data = session.pop(_PENDING_KEY, None)  # a state is good for one answer only
    data = dict(data) if isinstance(data, dict) else None
    if data is not None:
        data.pop("slug", None)
    pending = oauth.PendingConnect.from_dict(data)
    user_id = acting_user_id(tenant_session)
    try:
        if pending is None or pending.tenant_id != g.tenant.id or pending.user_id != str(user_id):
            raise ValidationError("The connection did not start here: start it again.", {})
        provider = oauth.provider_named(pending.provider)
        address, token = oauth.exchange_code(provider, pending, request.args.to_dict(), _redirect_uri())
        mailbox = mailboxes.connect_oauth_mailbox(tenant_session, user_id, provider, address, token)
    except ValidationError as error:
        tenant_session.rollback()
        return render_settings(errors=error.errors, message=error.detail, status=422)
    tenant_session.commit()
    queue_sync(g.tenant.id, mailbox.id)
    flash(gettext("Mailbox connected; its mail with your contacts is being synced."))
    return redirect(url_for("mailbox.settings"))
