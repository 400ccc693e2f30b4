"""The live chat settings page (owners and admins): the widget's snippet and whether chat is online."""

from __future__ import annotations

from flask import g, render_template, url_for

from saas.modules.chat import chats
from saas.modules.chat.blueprints import pages
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role


@pages.get("/chat/settings")
def settings():
    require_role(*ADMIN_ROLES)
    script = url_for("chat_widget.script", slug=g.tenant.slug, _external=True)
    return render_template(
        "chat/settings.html",
        snippet=f'<script src="{script}" async></script>',
        online=chats.is_online(current_tenant_session()),
    )
