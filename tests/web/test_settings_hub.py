"""The settings hub: every settings page of the workspace is reachable from it, grouped, in two clicks."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.exports import services as exports
from saas.jobs import make_worker
from saas.modules.registry import registry
from saas.webhooks import services as webhooks
from saas.webhooks.events import KNOWN_EVENTS
from tests.conftest import PASSWORD, login
from tests.exports.conftest import s3, s3_server  # noqa: F401  (moto S3, so that an export finishes)
from tests.web.conftest import switch

SLUG_RULE = "/t/<slug>"
NOT_NAVIGATED_TO = {
    # Stripe sends the browser back here after Checkout; nobody navigates to it.
    "billing_settings.checkout_done",
    # JSON the restore's status page polls (static/live-progress.js), not a page.
    "exports.restore_progress",
}


def _linked_endpoints(app: Flask, html: str) -> dict[str, set[str]]:
    """The pages a page links to: endpoint -> the paths linked."""
    adapter = app.url_map.bind("localhost")
    linked: dict[str, set[str]] = {}
    for href in re.findall(r'href="([^"#]+)', html):
        path = urlsplit(href).path
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except HTTPException:
            continue
        linked.setdefault(endpoint, set()).add(path)
    return linked


def _settings_routes(app: Flask) -> dict[str, str]:
    """Every page (GET) of the workspace's settings: endpoint -> rule. Those under /settings, and every
    page a module declares as its settings (some live under the module's own path)."""
    routes = {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"{SLUG_RULE}/settings") and "GET" in rule.methods
    }
    for module in registry:
        for page in module.settings:
            [rule] = list(app.url_map.iter_rules(page.endpoint))
            routes[page.endpoint] = rule.rule
    return routes


def _finished_restore(fixture) -> None:
    """A restore the restore page lists (its status page is one of the per-record settings pages)."""
    from saas.auth.models import Membership
    from saas.exports.models import ArchiveImport

    owner = db.session.scalar(select(Membership).where(Membership.tenant_id == fixture.tenant.id))
    db.session.add(
        ArchiveImport(
            kind="restore", tenant_id=fixture.tenant.id, requested_by=owner.user_id, status="refused",
            errors={"manifest.json": ["test"]}, secrets_to_reenter=[], tables_total=0, tables_done=0,
            rows_loaded=0, size_bytes=0,
        )
    )  # fmt: skip
    db.session.commit()


def test_every_settings_page_is_linked_from_the_hub_or_from_a_page_it_links_to(
    app,
    client,
    tenant_a,
    s3,  # noqa: F811
):
    # Records the per-record settings pages are about: a webhook subscription and a finished export.
    with tenant_session(tenant_a.ref) as session:
        webhooks.create_subscription(session, "http://127.0.0.1:9/hook", [sorted(KNOWN_EVENTS)[0]])
    exports.start_export(tenant_a.tenant.id, requested_by="test")
    make_worker().work(burst=True)
    _finished_restore(tenant_a)
    login(client, tenant_a.email, tenant_a.password)

    dashboard = client.get(f"/t/{tenant_a.slug}/")
    assert f'href="/t/{tenant_a.slug}/settings"' in dashboard.text  # click one: the nav's Settings
    hub = client.get(f"/t/{tenant_a.slug}/settings")
    assert hub.status_code == 200
    first = _linked_endpoints(app, hub.text)  # click two: a settings page
    second: dict[str, set[str]] = {}
    for endpoint, paths in first.items():
        for path in paths:
            if endpoint in _settings_routes(app):
                page = client.get(path)
                assert page.status_code == 200, path
                for found, found_paths in _linked_endpoints(app, page.text).items():
                    second.setdefault(found, set()).update(found_paths)

    routes = _settings_routes(app)
    assert {"core.custom_field_settings", "exports.index", "integrations.overview"} <= set(routes)
    for endpoint, rule in routes.items():
        if endpoint in NOT_NAVIGATED_TO:
            continue
        if rule.count("<") == 1:  # only the slug: the hub links it itself
            assert endpoint in first, f"{rule} is not linked from the settings hub"
        else:  # about one record: a page the hub links to lists the records
            assert endpoint in second, f"{rule} is not linked from any page the settings hub links to"


def test_the_hub_groups_pages_by_module_and_a_switched_off_module_hides_its_group(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    hub = client.get(f"/t/{tenant_a.slug}/settings").text
    for key in ("workspace", "core", "sfa", "service", "marketing", "privacy", "integrations"):
        assert f'id="settings-{key}"' in hub
    service_group = hub.split('id="settings-service"')[1].split("</section>")[0]
    assert f'href="/t/{tenant_a.slug}/settings/service"' in service_group

    switch(tenant_a, "service", False)
    switch(tenant_a, "marketing", False)
    hub = client.get(f"/t/{tenant_a.slug}/settings").text
    assert 'id="settings-service"' not in hub and f"/t/{tenant_a.slug}/settings/service" not in hub
    assert 'id="settings-marketing"' not in hub and "/marketing/settings" not in hub
    assert 'id="settings-sfa"' in hub  # the others stay

    switch(tenant_a, "service", True)
    assert 'id="settings-service"' in client.get(f"/t/{tenant_a.slug}/settings").text


def test_every_settings_page_a_module_declares_is_served(app):
    declared = [page.endpoint for module in registry for page in module.settings]
    assert declared and all(endpoint in app.view_functions for endpoint in declared)


def test_members_get_403_and_other_workspaces_404_on_the_hub(client, tenant_a, tenant_b):
    email = f"member-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, email, PASSWORD)
    assert client.get(f"/t/{tenant_a.slug}/settings").status_code == 403
    assert f'href="/t/{tenant_a.slug}/settings"' not in client.get(f"/t/{tenant_a.slug}/").text
    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_a.slug}/settings").status_code == 404
