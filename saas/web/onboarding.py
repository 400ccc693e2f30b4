"""The new workspace's checklist: choose modules, invite users, import contacts, connect billing.

Each step is done or not from the workspace's real state (switches, memberships, contacts, the billing
account), never from a flag of its own, and links to the page that does it when that page exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.auth.services import workspace_members
from saas.billing.models import BillingAccount
from saas.billing.stripe_client import billing_enabled
from saas.db import TenantSession
from saas.i18n import translate
from saas.modules.core.models import Contact
from saas.modules.registry import registry
from saas.modules.switches import ModuleSwitch

INVITE_ENDPOINT = "identity.members_page"
"""The admins' members page (identity issue); the step links to it whenever the app serves it."""


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    explanation: str
    endpoint: str | None
    """The page that does the step; ``None`` when this server has none (the explanation says why)."""


def _page(endpoint: str) -> str | None:
    return endpoint if endpoint in current_app.view_functions else None


def onboarding_steps(platform: Session, session: TenantSession, tenant_id: str) -> list[Step]:
    chosen = platform.scalar(
        select(func.count()).select_from(ModuleSwitch).where(ModuleSwitch.tenant_id == tenant_id)
    )
    members = len(workspace_members(platform, tenant_id))
    contacts = session.scalar(select(func.count()).select_from(Contact))
    invite_page = _page(INVITE_ENDPOINT)
    if billing_enabled():
        account = platform.get(BillingAccount, tenant_id)
        paid = bool(account and account.has_payment_method)
        billing_note = (
            _("A payment method is on file.")
            if paid
            else _("Add a card before the trial ends; you pay only for what you use.")
        )
        billing = Step("billing", _("Connect billing"), paid, billing_note, "billing_settings.billing")
    else:
        billing = Step(
            "billing", _("Connect billing"), True, _("Billing is off on this server: nothing to pay."), None
        )
    invite_note = (
        _("Colleagues sign in with their own accounts and roles.")
        if invite_page
        else _("Invitations arrive with the users page; until then an operator adds members.")
    )
    # Built per request for the page, so every title and explanation is in the reader's language.
    titles = [translate(module.title) for module in registry if not module.always_on]
    switchable = format_list(titles, locale=get_locale())
    return [
        Step(
            "modules",
            _("Choose your modules"),
            bool(chosen),
            _(
                "%(modules)s can each be switched on or off; a switched-off module keeps its data.",
                modules=switchable,
            ),
            "module_settings.modules",
        ),
        Step("users", _("Invite your team"), members > 1, invite_note, invite_page),
        Step(
            "contacts",
            _("Import your contacts"),
            (contacts or 0) > 0,
            _("Upload a CSV file from your old tool, or add contacts one by one."),
            _page("core.new_import"),
        ),
        billing,
    ]
