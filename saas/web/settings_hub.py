"""The settings hub (/t/<slug>/settings): every settings page of the workspace, grouped, one click away.

The workspace's own pages (members, sign-in, modules, audit, billing, export) are the platform's; each
module adds its group through the registry's ``settings`` field, shown while the module is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.modules.registry import SettingsPage, registry
from saas.modules.switches import enabled_module_keys


@dataclass(frozen=True)
class SettingsGroup:
    title: str
    pages: tuple[SettingsPage, ...]
    key: str
    """Stable anchor of the group (``workspace``, or the module's key)."""


PLATFORM_GROUPS = (
    SettingsGroup(
        N_("Workspace"),
        (
            SettingsPage(
                N_("Members and invitations"), "identity.members_page", N_("Who works here, and their roles.")
            ),
            SettingsPage(
                N_("Single sign-on and sign-in rules"),
                "identity.sso_settings",
                N_("Your identity provider; whether SSO or two-factor sign-in is required."),
            ),
            SettingsPage(
                N_("Language and time zone"),
                "workspace_language.language_settings",
                N_("The workspace's default language and the time zone dates are shown in."),
            ),
            SettingsPage(
                N_("Modules"), "module_settings.modules", N_("Switch the optional modules on and off.")
            ),
            SettingsPage(N_("Audit log"), "audit_log.log_page", N_("Who did what, when, from where.")),
        ),
        "workspace",
    ),
    SettingsGroup(
        N_("Billing and data"),
        (
            SettingsPage(
                N_("Billing"), "billing_settings.billing", N_("Plan, usage, payment method and invoices.")
            ),
            SettingsPage(
                N_("Export"), "exports.index", N_("The whole workspace as one archive, now or on a schedule.")
            ),
            SettingsPage(
                N_("Exports to your own bucket"),
                "exports.destination",
                N_("Copy each scheduled export to an S3 bucket of your own (owners)."),
            ),
            SettingsPage(
                N_("Restore from an archive"),
                "exports.restore_page",
                N_("Fill this empty workspace from an archive exported from another one."),
            ),
        ),
        "billing-data",
    ),
)


def settings_groups(platform: Session, tenant_id: str) -> list[SettingsGroup]:
    """The hub's groups: the platform's, then each enabled module's (registry order); pages this server
    does not serve are left out."""
    enabled = enabled_module_keys(platform, tenant_id)
    groups = list(PLATFORM_GROUPS) + [
        SettingsGroup(module.title, module.settings, module.key)
        for module in registry
        if module.settings and module.key in enabled
    ]
    served = current_app.view_functions
    shown = [
        SettingsGroup(group.title, tuple(page for page in group.pages if page.endpoint in served), group.key)
        for group in groups
    ]
    return [group for group in shown if group.pages]
