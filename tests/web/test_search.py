"""The global search: every enabled module's ``search`` hook on the signed-in user's tenant only."""

from __future__ import annotations

import re

from saas.db import db, tenant_session
from saas.web.search import global_search
from tests.conftest import login
from tests.web.conftest import add_records, switch


def hits(html: str) -> list[tuple[str, str]]:
    """(kind, title) of every result on a search page."""
    return re.findall(r'<li data-kind="(\w+)"><a href="[^"]+">([^<]+)</a>', html)


def test_one_box_finds_contacts_accounts_leads_and_deals(client, tenant_a):
    ids = add_records(tenant_a, "Quuxly")
    add_records(tenant_a, "Other")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "quux"})
    assert page.status_code == 200
    assert sorted(hits(page.text)) == [
        ("Account", "Quuxly Industries"),
        ("Contact", "Ada Quuxly"),
        ("Deal", "Quuxly renewal"),
        ("Lead", "Lee Quuxly"),
    ]
    assert f'href="/t/{tenant_a.slug}/deals/{ids["deal"]}"' in page.text
    assert f'href="/t/{tenant_a.slug}/contacts/{ids["contact"]}"' in page.text
    assert "4 results for “quux”." in page.text
    # The shell's search box is on every workspace page and keeps the query.
    assert 'role="search"' in page.text and 'value="quux"' in page.text


def test_another_tenants_records_are_never_found(client, tenant_a, tenant_b):
    add_records(tenant_a, "Hiddenco")
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/search", query_string={"q": "Hiddenco"})
    assert page.status_code == 200 and hits(page.text) == [] and "0 results" in page.text
    assert client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "Hiddenco"}).status_code == 404


def test_a_switched_off_module_is_not_searched(client, tenant_a):
    add_records(tenant_a, "Dormant")
    login(client, tenant_a.email, tenant_a.password)
    switch(tenant_a, "sfa", False)
    page = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "dormant"}).text
    assert sorted(kind for kind, _ in hits(page)) == ["Account", "Contact"]
    switch(tenant_a, "sfa", True)
    page = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "dormant"}).text
    assert sorted(kind for kind, _ in hits(page)) == ["Account", "Contact", "Deal", "Lead"]


def test_bad_queries_get_a_message_and_wildcards_match_literally(client, tenant_a):
    add_records(tenant_a, "Percent")
    login(client, tenant_a.email, tenant_a.password)
    short = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "a"})
    assert (
        short.status_code == 422
        and "at least 2 characters" in short.text
        and 'aria-invalid="true"' in short.text
    )
    long = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "x" * 101})
    assert long.status_code == 422 and "at most 100 characters" in long.text
    assert hits(client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "%%"}).text) == []
    blank = client.get(f"/t/{tenant_a.slug}/search", query_string={"q": "  "})
    assert blank.status_code == 200 and "results for" not in blank.text


def test_the_service_caps_each_module_and_groups_by_kind(app_ctx, tenant_a):
    for number in range(3):
        add_records(tenant_a, f"Cap{number}")
    with tenant_session(tenant_a.ref) as session:
        groups = global_search(db.session, session, tenant_a.tenant.id, "cap", per_module=2)
    assert [(g.module.key, g.kind, len(g.hits)) for g in groups] == [
        ("core", "Contact", 2),
        ("core", "Account", 2),
        ("sfa", "Lead", 2),
        ("sfa", "Deal", 2),
    ]
