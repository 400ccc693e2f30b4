"""The workspace's navigation: the sidebar grouped by area and the command palette's pages, actions and
records, all from the registry (each enabled module's ``nav``, ``workspace_nav``, ``actions``, ``search``).

Labels are translated here, in the reader's language, because the palette matches what the reader types.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.i18n import N_
from saas.modules.registry import NAV_GROUPS, NavEntry, registry
from saas.modules.settings import ADMIN_ROLES
from saas.modules.switches import enabled_module_keys
from saas.web.search import MAX_QUERY, MIN_QUERY, clean_query, global_search

DASHBOARD = NavEntry(N_("Dashboard"), "core.dashboard")
# The workspace's own place in the Settings area; the hub lists every module's settings pages.
SETTINGS_HUB = NavEntry(N_("Settings"), "workspace.settings", group="settings")
PALETTE_PER_KIND = 8
PALETTE_RECORDS_PER_MODULE = 5


@dataclass(frozen=True)
class NavLink:
    """One link of the sidebar, as shown: ``current`` is ``page`` on its own page, ``true`` on a page
    under it (a contact under Contacts), else None (the ``aria-current`` attribute)."""

    label: str
    url: str
    current: str | None = None


@dataclass(frozen=True)
class NavSection:
    label: str
    links: list[NavLink]


@dataclass(frozen=True)
class PaletteItem:
    """One choice of the command palette: a page, an action or a record, and where choosing it goes."""

    kind: str
    """``page``, ``action`` or ``record``."""
    label: str
    url: str
    detail: str = ""


def _url(entry: NavEntry) -> str:
    return url_for(entry.endpoint, **dict(entry.params))


def workspace_entries(platform: Session, session: TenantSession, tenant_id: str, role: str) -> list[NavEntry]:
    """The sidebar's entries of the enabled modules (and the settings hub for owners and admins)."""
    enabled = enabled_module_keys(platform, tenant_id)
    entries: list[NavEntry] = []
    for module in registry:
        if module.key not in enabled:
            continue
        entries += module.nav
        if module.workspace_nav is not None:
            entries += module.workspace_nav(session)
    if role in ADMIN_ROLES:
        entries.append(SETTINGS_HUB)
    return entries


def sidebar(entries: list[NavEntry], current_path: str) -> tuple[NavLink, list[NavSection]]:
    """The dashboard link and the areas of ``NAV_GROUPS`` that have entries, the current place marked:
    the link whose URL is the longest prefix of ``current_path``."""
    urls = {entry: _url(entry) for entry in [DASHBOARD, *entries]}
    under = [url for url in urls.values() if current_path.rstrip("/").startswith(url.rstrip("/"))]
    nearest = max(under, key=len, default=None)

    def link(entry: NavEntry) -> NavLink:
        url = urls[entry]
        current = None
        if url == nearest:
            current = "page" if current_path.rstrip("/") == url.rstrip("/") else "true"
        return NavLink(gettext(entry.label), url, current)

    sections = []
    for group in NAV_GROUPS:
        links = [link(entry) for entry in entries if entry.group == group.key]
        if links:
            sections.append(NavSection(gettext(group.label), links))
    dashboard = link(DASHBOARD)
    if dashboard.current == "true":  # every workspace URL is under the dashboard's: only its own page counts
        dashboard = NavLink(dashboard.label, dashboard.url)
    return dashboard, sections


def palette_actions(platform: Session, tenant_id: str) -> list[NavEntry]:
    """The enabled modules' actions (``New deal``), in registry order."""
    enabled = enabled_module_keys(platform, tenant_id)
    return [action for module in registry if module.key in enabled for action in module.actions]


def _matches(label: str, query: str) -> int | None:
    """How well a label fits what was typed: 0 it starts with it, 1 a word does, 2 it contains it."""
    label, query = label.casefold(), query.casefold()
    if label.startswith(query):
        return 0
    if any(word.startswith(query) for word in label.split()):
        return 1
    return 2 if query in label else None


def _ranked(entries: list[NavEntry], query: str, kind: str) -> list[PaletteItem]:
    scored = []
    for position, entry in enumerate(entries):
        label = gettext(entry.label)
        score = _matches(label, query) if query else 0
        if score is not None:
            scored.append((score, position, PaletteItem(kind, label, _url(entry))))
    return [item for *_, item in sorted(scored, key=lambda row: row[:2])][:PALETTE_PER_KIND]


def palette_items(
    platform: Session, session: TenantSession, tenant_id: str, role: str, query: str
) -> list[PaletteItem]:
    """What the palette offers for ``query``: matching actions and pages, then records once the query is
    long enough to search (``saas.web.search``; a query longer than it accepts is refused there)."""
    query = " ".join(query.split())
    if len(query) > MAX_QUERY:
        clean_query(query)  # refuses it, as the search page does
    items = _ranked(palette_actions(platform, tenant_id), query, "action")
    items += _ranked([DASHBOARD, *workspace_entries(platform, session, tenant_id, role)], query, "page")
    if len(query) >= MIN_QUERY:
        groups = global_search(platform, session, tenant_id, query, per_module=PALETTE_RECORDS_PER_MODULE)
        for group in groups:
            for hit in group.hits:
                detail = " · ".join(part for part in (gettext(hit.kind), hit.detail) if part)
                items.append(PaletteItem("record", hit.title, url_for(hit.endpoint, **hit.params), detail))
    return items
