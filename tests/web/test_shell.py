"""The app shell and public pages: tenant name, module-aware navigation, flash messages, the product's own
404/403/500 pages, the landing page's pricing from the billing rows, local assets only."""

from __future__ import annotations

import re
import uuid
from html import unescape as html_unescape

from saas import create_app
from saas.auth.services import add_member
from saas.billing.catalog import default_plan, plan_prices
from saas.db import db
from saas.modules.registry import NAV_GROUPS, registry
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.web.conftest import add_records, switch


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main" class="main-nav">(.*?)</nav>', html, re.S)
    assert nav, "no main navigation"
    return re.findall(r">([^<]+)</a>", nav.group(1))


def sidebar_sections(html: str) -> list[tuple[str, list[str]]]:
    """The sidebar's areas as shown: (heading, link labels), after the dashboard's link."""
    nav = re.search(r'<nav aria-label="Main" class="main-nav">(.*?)</nav>', html, re.S)
    assert nav, "no main navigation"
    parts = re.split(r'<span class="nav-heading">([^<]+)</span>', nav.group(1))
    return [
        (html_unescape(heading), re.findall(r">([^<]+)</a>", links))
        for heading, links in zip(parts[1::2], parts[2::2], strict=True)
    ]


def test_the_shell_names_the_workspace_and_groups_the_enabled_modules_pages_by_area(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts").text
    assert f"</span>{tenant_a.tenant.name}</span>" in page
    entries = [entry for module in registry for entry in module.nav]
    hub = {"settings": ["Settings"]}  # the workspace's own settings hub, for owners and admins
    expected = [
        (group.label, [e.label for e in entries if e.group == group.key] + hub.get(group.key, []))
        for group in NAV_GROUPS
    ]
    assert sidebar_sections(page) == [(heading, labels) for heading, labels in expected if labels]
    assert nav_labels(page)[0] == "Dashboard"
    assert f'<a href="/t/{tenant_a.slug}/contacts" aria-current="page">Contacts</a>' in page
    switch(tenant_a, "sfa", False)
    without = nav_labels(client.get(f"/t/{tenant_a.slug}/contacts").text)
    sales = {entry.label for entry in registry.get("sfa").nav}
    assert sales and not sales & set(without) and "Contacts" in without
    assert "Sales" not in dict(sidebar_sections(client.get(f"/t/{tenant_a.slug}/contacts").text))


def test_every_sidebar_entry_of_a_module_names_a_known_area():
    areas = {group.key for group in NAV_GROUPS}
    for module in registry:
        for entry in module.nav:
            assert entry.group in areas, (module.key, entry.label, entry.group)


def test_a_record_page_marks_its_list_as_the_current_place(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    contact = add_records(tenant_a, "Placeholder")["contact"]
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact}").text
    assert f'<a href="/t/{tenant_a.slug}/contacts" aria-current="true">Contacts</a>' in page
    assert page.count("aria-current=") == 1
    # The dashboard's URL is a prefix of every workspace page, yet only its own page marks it.
    assert f'<a href="/t/{tenant_a.slug}/" aria-current="page">' in client.get(f"/t/{tenant_a.slug}/").text


def test_the_topbar_keeps_search_palette_help_and_the_notification_hook(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/deals").text
    assert 'id="global-q"' in page and f'action="/t/{tenant_a.slug}/search"' in page
    assert f'data-url="/t/{tenant_a.slug}/palette"' in page and 'role="combobox"' in page
    assert f'href="/t/{tenant_a.slug}/shortcuts" data-help-open' in page
    shortcuts = client.get(f"/t/{tenant_a.slug}/shortcuts")
    assert shortcuts.status_code == 200 and "<kbd>K</kbd>" in shortcuts.text
    with client.application.app_context():  # a fresh `g`: no workspace bound by an earlier request
        outside = client.get("/workspaces").text
    assert "data-palette" not in outside and "data-sidebar" not in outside


def test_flash_messages_show_once_as_a_status(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/contacts/new")
    saved = client.post(
        f"/t/{tenant_a.slug}/contacts/new",
        data={"first_name": "Flash", "csrf_token": csrf_token_from(form.text)},
        follow_redirects=True,
    )
    assert '<p class="flash flash-message" role="status">Contact saved.</p>' in saved.text
    assert "Contact saved." not in client.get(f"/t/{tenant_a.slug}/contacts").text


def test_error_pages_are_the_products_own(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    missing = client.get(f"/t/{tenant_a.slug}/contacts/{uuid.uuid4()}")
    assert missing.status_code == 404 and 'class="error-page"' in missing.text
    assert "Back to the dashboard" in missing.text and "main-nav" in missing.text
    with client.application.app_context():  # a fresh `g`: no workspace bound by an earlier request
        nowhere = client.get("/no/such/page")
    assert nowhere.status_code == 404 and "Back to the start" in nowhere.text
    assert "main-nav" not in nowhere.text
    # The API keeps its problem documents.
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"

    member_email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, member_email, PASSWORD, "member", actor="t")
    db.session.commit()
    with client.application.app_context():  # a fresh `g` for the second user
        member = client.application.test_client()
        login(member, member_email, PASSWORD)
        refused = member.get(f"/t/{tenant_a.slug}/settings/modules")
        page = member.get(f"/t/{tenant_a.slug}/").text
    assert refused.status_code == 403 and 'class="error-page"' in refused.text
    assert "Your role in this workspace does not allow this" in refused.text
    assert "Settings" not in nav_labels(page)


def test_an_unexpected_error_gets_a_500_page_that_asks_nothing_more_of_the_database(app):
    other = create_app()
    other.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @other.route("/boom")
    def boom():
        db.session.execute(db.text("SELECT 1/0"))  # leaves the transaction failed

    response = other.test_client().get("/boom")
    assert response.status_code == 500
    assert 'class="error-page"' in response.text and "Something went wrong on our side" in response.text
    assert "division by zero" not in response.text


def test_the_landing_page_says_what_it_does_and_prices_from_the_billing_rows(client, app_ctx):
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/signup"' in page.text and 'href="/pricing"' in page.text
    plan = default_plan(db.session)
    prices = plan_prices(db.session, plan.key)
    assert prices
    for meter, _ in prices:
        assert f'data-meter="{meter.key}"' in page.text and meter.name in page.text
    assert "Sales" in page.text  # the switchable modules, from the registry


def test_pages_load_only_local_assets(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    for path in ("/", f"/t/{tenant_a.slug}/", f"/t/{tenant_a.slug}/search?q=ab", "/signup", "/pricing"):
        html = client.get(path).text
        for asset in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html):
            assert asset.startswith("/"), (path, asset)
    assert client.get("/static/live-progress.js").status_code == 200
