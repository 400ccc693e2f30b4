"""The staff pages of custom objects, custom fields, CSV imports, macros and live chat in the pseudo-locale:
no visible text outside the translation layer (see test_pseudo_locale for the method)."""

from __future__ import annotations

import html
import re

from saas.db import tenant_session
from saas.modules.service.macros import MERGE_FIELDS
from tests.conftest import csrf_token_from, login
from tests.i18n.test_pseudo_locale import HEADERS, page_leaks, pseudo_locale  # noqa: F401


def test_new_staff_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
    monkeypatch,
):
    from saas.modules.chat import chats

    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/settings/objects", headers=HEADERS).text)
    definition = {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles", "name_label": "Plate"}
    for path, form in (
        ("/settings/objects", {**definition, "icon": "car", "description": ""}),
        ("/macros", {"name": "Thanks", "reply": "Hello", "scope": "shared", "reply_kind": "public"}),
        ("/o/vehicle/new", {"name": "AB123"}),
    ):
        made = client.post(f"{base}{path}", data={"csrf_token": token, **form}, headers=HEADERS)
        assert made.status_code == 302, (path, made.status_code)
    record_url = made.headers["Location"]
    # The chat is opened as the widget would, inside business hours whatever the clock says.
    monkeypatch.setattr(chats, "is_online", lambda *args, **kwargs: True)
    with tenant_session(tenant_a.ref) as session:
        chat, _ = chats.start_chat(session, "Hallo there", name="Vis Itor", email="vis@example.com")
        chat_id = chat.id
    macro_page = client.get(f"{base}/macros", headers=HEADERS).text
    macro_id = re.search(r"/macros/([0-9a-f-]{36})", macro_page).group(1)

    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Vehicle", "Vehicles", "vehicle", "Plate",
        "AB123", "Thanks", "Hello", "Hallo there", "Vis Itor", "vis@example.com",
        "Support",  # the workspace's default queue, named when it was created
        *(f"{{{{ {name} }}}}" for name in MERGE_FIELDS),  # the merge fields, written as typed in a reply
    }  # fmt: skip
    surfaces = {
        "custom objects": f"{base}/settings/objects",
        "custom fields": f"{base}/settings/custom-fields",
        "object records": f"{base}/o/vehicle",
        "object records, no match": f"{base}/o/vehicle?q=Nobody",
        "new object record": f"{base}/o/vehicle/new",
        "object record": record_url,
        "edit object record": f"{record_url}/edit",
        "imports": f"{base}/imports",
        "new import": f"{base}/imports/new",
        "macros": f"{base}/macros",
        "macro": f"{base}/macros/{macro_id}",
        "chat inbox": f"{base}/chat",
        "chat": f"{base}/chat/{chat_id}",
        "chat settings": f"{base}/chat/settings",
    }
    leaks = {}
    for name, path in surfaces.items():
        page = client.get(path, headers=HEADERS)
        assert page.status_code == 200, (name, page.status_code)
        assert 'lang="eo"' in page.text, name
        # The widget's snippet is code to copy, shown as written.
        shown = re.findall(r"<textarea[^>]*readonly>(.*?)</textarea>", page.text, re.S)
        snippets = {html.unescape(snippet) for snippet in shown}
        leaks[name] = page_leaks(page.text, data | snippets)
    assert {name: found for name, found in leaks.items() if found} == {}


def test_an_objects_names_are_text_in_the_translated_phrases(client, tenant_a):
    """Jinja's _() marks what it returns safe: an object's names put into a phrase are escaped first."""
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/settings/objects").text)
    names = {"singular": "<i>Car</i>", "plural": "<i>Cars</i>"}
    made = client.post(
        f"{base}/settings/objects",
        data={"csrf_token": token, "key": "car", **names, "name_label": "Name", "icon": "car"},
    )
    assert made.status_code == 302
    saved = client.post(f"{base}/o/car/new", data={"csrf_token": token, "name": "X1"})
    assert saved.status_code == 302
    page = client.get(f"{base}/o/car?q=zz").text  # the flash, the navigation, the title and the phrases
    assert "<i>" not in page
    assert "New &lt;i&gt;Car&lt;/i&gt;" in page and "&lt;i&gt;Car&lt;/i&gt; saved." in page
    assert "No &lt;i&gt;Cars&lt;/i&gt; match “zz”." in page
