"""The landing page, the default legal texts, the module switches, phone settings, the merge screen,
custom-field inputs and the flash messages of saved views, merges, files, bulk changes and module
switches in the pseudo-locale: no visible text outside the translation layer (see test_pseudo_locale
for the method)."""

from __future__ import annotations

from saas.db import tenant_session
from saas.modules.core import custom_fields, services
from tests.conftest import csrf_token_from, login
from tests.i18n.test_pseudo_locale import HEADERS, page_leaks, pseudo_locale, pseudo_pages  # noqa: F401


def test_landing_and_legal_pages_show_no_text_outside_the_translation_layer(
    client,
    pseudo_locale,  # noqa: F811
):
    surfaces = {"landing page": "/", "terms of service": "/terms", "privacy notice": "/privacy"}
    texts = pseudo_pages(client, surfaces)
    assert 'data-meter="' in texts["landing page"]  # the default plan's prices are on the page too
    # Babel joins the module names with the pseudo-locale's own "and"; the formats' names are written as is.
    data = {"kaj"}
    leaks = {name: page_leaks(text, data) for name, text in texts.items()}
    assert {name: found for name, found in leaks.items() if found} == {}, {
        n: f for n, f in leaks.items() if f
    }
    german = client.get("/terms", headers={"Accept-Language": "de"}).text
    assert "Nutzungsbedingungen" in german and "Mustertext." in german


def test_module_phone_merge_and_custom_field_pages_and_their_flashes_show_no_text_outside_the_translation_layer(  # noqa: E501
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    with tenant_session(tenant_a.ref) as session:
        keep = services.contacts.create(
            session, {"first_name": "Pseudo", "last_name": "Person", "email": "pseudo@example.com"}
        )
        twin = services.contacts.create(
            session, {"first_name": "Pseudo", "last_name": "Twin", "email": "pseudo@example.com"}
        )
        for field in (
            {"key": "tier", "label": "Tier", "field_type": "single_select", "options": ["gold", "silver"]},
            {"key": "vip", "label": "Vip", "field_type": "boolean"},
        ):
            custom_fields.define_field(session, "contacts", field)
        extra = services.contacts.create(session, {"first_name": "Pseudo", "last_name": "Extra"})
        keep_id, twin_id, extra_id = keep.id, twin.id, extra.id
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/settings/modules", headers=HEADERS).text)
    shown: dict[str, str] = {}

    def post(path: str, form: dict, name: str) -> None:
        """Posts ``form`` and keeps the page it leads to (where its flash message shows)."""
        made = client.post(f"{base}{path}", data={"csrf_token": token, **form}, headers=HEADERS)
        assert made.status_code in (302, 303), (name, made.status_code)
        page = client.get(made.headers["Location"], headers=HEADERS)
        assert page.status_code == 200 and 'lang="eo"' in page.text, name
        shown[name] = page.text

    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Pseudo", "Person", "Twin", "Extra",
        "pseudo@example.com", "Tier", "Vip", "gold", "silver", "DE", "Pseudo view",
        "kaj",  # the pseudo-locale's own "and" where Babel joins a list
    }  # fmt: skip
    # Pages before the changes: the merge screen picks the twin, the phone page has no region yet.
    surfaces = {
        "modules": f"{base}/settings/modules",
        "phone settings": f"{base}/settings/phones",
        "merge, choose": f"{base}/contacts/{keep_id}/merge",
        "merge, compare": f"{base}/contacts/{keep_id}/merge?with={twin_id}",
        "new contact, custom fields": f"{base}/contacts/new",
        "contacts, custom filters": f"{base}/contacts",
    }
    shown |= pseudo_pages(client, surfaces)
    post("/settings/modules", {"module": "sfa", "enabled": "0"}, "module switched off")
    post("/settings/modules", {"module": "sfa", "enabled": "1"}, "module switched on")
    post("/settings/phones", {"region": "DE"}, "phone region saved")
    view = {"entity": "contacts", "list_endpoint": "core.list_contacts", "query": "q=Pseudo"}
    post("/saved-views", {**view, "name": "Pseudo view"}, "view saved")
    post("/saved-views", {**view, "name": ""}, "view refused")
    post("/files", {"record_type": "contacts", "record_id": str(keep_id)}, "file missing")
    post(
        "/bulk/contacts",
        {"action": "delete", "ids": [str(extra_id)], "next": f"{base}/contacts"},
        "bulk change",
    )
    post(f"/contacts/{keep_id}/merge", {"other_id": str(twin_id)}, "merged")

    flashed = {  # each action's message did show, so the walk saw it
        "module switched off": "⟦⟦Sales⟧ switched off.⟧",
        "module switched on": "⟦⟦Sales⟧ switched on.⟧",
        "phone region saved": "are read as numbers of DE.⟧",
        "view saved": "⟦View “Pseudo view” saved.⟧",
        "view refused": "⟦The view was not saved.",
        "file missing": "⟦Choose a file to upload.⟧",
        "bulk change": "⟦1 record changed.⟧",
        "merged": "⟦Merged Pseudo Twin into this contact⟧",
    }
    assert {name: text in shown[name] for name, text in flashed.items()} == dict.fromkeys(flashed, True)
    leaks = {name: page_leaks(text, data) for name, text in shown.items()}
    assert {name: found for name, found in leaks.items() if found} == {}, {
        n: f for n, f in leaks.items() if f
    }
