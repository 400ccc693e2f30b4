"""The staff pages of custom objects, custom fields, CSV imports, macros and live chat in the pseudo-locale:
no visible text outside the translation layer (see test_pseudo_locale for the method)."""

from __future__ import annotations

import html
import io
import re

from babel import Locale
from babel.dates import get_timezone_location

from saas.db import tenant_session
from saas.modules.meetings.booking import sorted_time_zones
from saas.modules.service.macros import MERGE_FIELDS
from tests.conftest import csrf_token_from, login
from tests.i18n.test_pseudo_locale import HEADERS, page_leaks, pseudo_locale, pseudo_pages  # noqa: F401


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


def test_service_staff_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    """Tickets (with a reply, a note, an edit and its history), the dashboard, the knowledge base and
    the service settings, each after the form that leads to it, so its flash message is checked too."""
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/tickets", headers=HEADERS).text)
    shown = {}

    def post(path: str, form: dict, name: str) -> str:
        made = client.post(f"{base}{path}", data={"csrf_token": token, **form}, headers=HEADERS)
        assert made.status_code in (302, 422), (path, made.status_code)
        location = made.headers.get("Location")
        page = client.get(location, headers=HEADERS) if location else made
        assert 'lang="eo"' in page.text, name
        shown[name] = page.text
        return location or path

    eo = Locale.parse("eo")  # Babel's names of months and days (dates are formatted, not translated)
    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Printer jam", "Paper stuck", "req@example.com",
        "req",  # the requester's name, taken from the address
        "Billing", "billing", "Reset a password", "Open settings", "Support", "SLA", "HH:MM", "YYYY-MM-DD",
        *eo.months["format"]["abbreviated"].values(), *eo.days["format"]["abbreviated"].values(),
        f"http://localhost/hub/{tenant_a.slug}/",  # the customer hub's address, shown to be copied
    }  # fmt: skip
    ticket = {"subject": "Printer jam", "description": "Paper stuck", "requester_email": "req@example.com",
              "priority": "high", "channel": "email"}  # fmt: skip
    ticket_url = post("/tickets/new", ticket, "new ticket, opened")
    reference = re.search(r"#(\w+)</span>", client.get(ticket_url, headers=HEADERS).text).group(1)
    data.add(reference)
    ticket_path = ticket_url.removeprefix(base).removeprefix("http://localhost")
    post(f"{ticket_path}/messages", {"body": "Paper stuck", "kind": "public", "status": "pending_customer"},
         "ticket after a reply")  # fmt: skip
    post(f"{ticket_path}/messages", {"body": "Paper stuck", "kind": "note"}, "ticket after a note")
    post(f"{ticket_path}/edit", {"subject": "Printer jam", "status": "open", "priority": "urgent",
                                  "tags": "Billing"}, "ticket after an edit")  # fmt: skip
    post(f"{ticket_path}/messages", {"body": "", "kind": "public"}, "ticket, empty reply")
    post("/tickets/new", {"subject": "", "priority": "high", "channel": "email"}, "new ticket, no subject")
    post("/kb/categories", {"name": "Billing"}, "knowledge base, category added")
    post("/kb/categories", {"name": "Billing"}, "knowledge base, category exists")
    article = {"title": "Reset a password", "body": "Open settings", "status": "published"}
    post("/kb/new", article, "article saved")
    post("/kb/new", {"title": "", "body": ""}, "article, missing fields")
    post("/settings/service/holidays", {"day": "2031-12-25"}, "service settings, unnamed holiday")
    post("/settings/service/calendar", {"timezone": "Mars/Base", "start": "9", "end": "17:00",
                                         "work_days": "1"}, "service settings, bad hours")  # fmt: skip
    post(
        "/settings/service/queues",
        {"name": "Support", "strategy": "manual"},
        "service settings, queue exists",
    )
    surfaces = {
        "tickets": f"{base}/tickets",
        "tickets, every column": f"{base}/tickets?columns=subject,reference,requester,status,priority,"
        "assignee,sla,next_due,channel,first_response_due_at,resolution_due_at,created_at,updated_at",
        "tickets breaching": f"{base}/tickets?view=breaching",
        "tickets, bad filter": f"{base}/tickets?status=nonsense",
        "new ticket": f"{base}/tickets/new",
        "service dashboard": f"{base}/service",
        "knowledge base": f"{base}/kb",
        "knowledge base, no match": f"{base}/kb?q=Nobody",
        "new article": f"{base}/kb/new",
        "service settings": f"{base}/settings/service",
    }
    shown |= pseudo_pages(client, surfaces, (200, 422))
    leaks = {name: page_leaks(text, data) for name, text in shown.items()}
    assert {name: found for name, found in leaks.items() if found} == {}, {
        n: f for n, f in leaks.items() if f
    }


def test_privacy_staff_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    """A contact's consents (with a recorded consent and a bad "as of" date) and its receipt, the request
    queue, a request through its steps, retention and branding, each after the form that leads to it."""
    from saas.modules.core import services
    from saas.modules.privacy.consent import current_notice, list_purposes

    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(
            session, {"first_name": "Pseudo", "last_name": "Person", "email": "pseudo@example.com"}
        )
        contact_id = contact.id
        purposes = {p.key for p in list_purposes(session)} | {p.title for p in list_purposes(session)}
        # The notice text a person was shown stays as it was shown: the receipt's evidence.
        notices = {current_notice(session, p).text for p in list_purposes(session)}
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    consents = f"{base}/privacy/contacts/{contact_id}/consents"
    token = csrf_token_from(client.get(consents, headers=HEADERS).text)
    shown = {}

    def post(path: str, form: dict, name: str) -> str:
        made = client.post(path, data={"csrf_token": token, **form}, headers=HEADERS)
        assert made.status_code in (302, 422), (path, made.status_code)
        location = made.headers.get("Location")
        page = client.get(location, headers=HEADERS) if location else made
        assert 'lang="eo"' in page.text, name
        shown[name] = page.text
        return location or path

    post(consents, {"purpose": "email_marketing", "status": "granted", "lawful_basis": "consent"},
         "consents, recorded")  # fmt: skip
    request_url = post(f"{base}/privacy/requests", {"contact_id": str(contact_id), "kind": "erasure",
                       "verification_method": "", "details": "Pseudo"}, "request, opened")  # fmt: skip
    post(request_url, {"action": "verify", "verification_method": "email_reply"}, "request, verified")
    post(request_url, {"action": "assign"}, "request, assigned")
    post(request_url, {"action": "in_progress", "note": "Pseudo"}, "request, in progress")
    post(request_url, {"action": "nonsense"}, "request, a refused step")
    post(f"{base}/privacy/requests", {"contact_id": "", "kind": "access"}, "queue, nobody chosen")
    post(f"{base}/privacy/retention", {"months": "12", "enabled": "1"}, "retention, saved")
    post(f"{base}/privacy/branding", {"name": "Pseudo", "color": "red"}, "branding, bad colour")
    post(f"{base}/privacy/branding", {"name": "Pseudo"}, "branding, saved")
    lift = {"email": "nobody@example.com", "lawful_reason": "Pseudo reason"}
    post(f"{base}/privacy/suppression/lift", lift, "queue, nothing to lift")
    surfaces = {
        "consents": consents,
        "consents as of a date": f"{consents}?as_of=2030-01-31",
        "consents, bad date": f"{consents}?as_of=yesterday",
        "consent receipt": f"{consents}/email_marketing/receipt",
        "requests": f"{base}/privacy/requests",
        "all requests": f"{base}/privacy/requests?all=1",
        "requests, person found": f"{base}/privacy/requests?contact_q=Pseudo",
        "requests, nobody found": f"{base}/privacy/requests?contact_q=Nobody",
        "retention": f"{base}/privacy/retention",
        "branding": f"{base}/privacy/branding",
        "records of processing": f"{base}/privacy/records-of-processing",
    }
    shown |= pseudo_pages(client, surfaces, (200, 422))
    eo = Locale.parse("eo")
    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Pseudo", "Person", "pseudo@example.com",
        "Pseudo reason", "yesterday", "red", "contacts", "PDF", "JSON", *purposes, *notices, str(contact_id),
        *eo.months["format"]["abbreviated"].values(), *eo.months["format"]["wide"].values(),
        *eo.days["format"]["abbreviated"].values(),
        "Werkzeug",  # the test client's browser name, recorded with the consent
        f"http://localhost/hub/{tenant_a.slug}/",
        "Default", "default",  # the cell's region label and code, as the operator declared them
    }  # fmt: skip
    leaks = {name: page_leaks(text, data) for name, text in shown.items()}
    assert {name: found for name, found in leaks.items() if found} == {}, {
        n: f for n, f in leaks.items() if f
    }


def test_mail_calendar_product_quote_and_vendor_import_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    """The salesperson's day (issue 23) and the migration in (issue 24): each page as a new workspace sees
    it, and a product, a quote and a vendor import's dry run once made."""
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/products", headers=HEADERS).text)
    product = {"name": "Widget", "sku": "W-1", "unit_price": "12.50", "currency": "EUR", "tax_rate": "19"}
    made = client.post(f"{base}/products", data={"csrf_token": token, **product}, headers=HEADERS)
    assert made.status_code in (302, 303), made.status_code
    product_url = made.headers["Location"]
    with tenant_session(tenant_a.ref) as session:
        from saas.modules.sfa.deals import deals

        deal = deals.create(session, {"name": "Big order", "amount": 1000, "currency": "EUR"})
        session.commit()
        deal_id = deal.id
    quote_form = client.get(f"{base}/deals/{deal_id}/quotes/new", headers=HEADERS)
    assert quote_form.status_code == 200
    vendor = client.post(
        f"{base}/vendor-imports/new",
        data={"csrf_token": token, "vendor": "hubspot",
              "files": (io.BytesIO(b"Record ID,First Name,Last Name,Email\n101,Ada,Lovelace,ada@x.example\n"),
                        "contacts.csv")},
        headers=HEADERS, content_type="multipart/form-data",
    )  # fmt: skip
    assert vendor.status_code in (302, 303), vendor.status_code
    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Widget", "W-1", "EUR", "Big order",
        "contacts.csv", "Ada", "Lovelace", "ada@x.example", "Record ID", "First Name", "Last Name", "Email",
        "HubSpot", "Salesforce", "Twenty", "EspoCRM",  # the CRMs' own names
        "contacts",  # HubSpot's name of its object, shown beside ours
        # Babel's names of the working days and of the time zones' places (formatted, not translated)
        *Locale.parse("eo").days["format"]["abbreviated"].values(),
        *(get_timezone_location(zone, locale="eo") for zone in sorted_time_zones()),
    }  # fmt: skip
    surfaces = {
        "mailbox": f"{base}/mailbox",
        "calendar": f"{base}/calendar",
        "calendar teams": f"{base}/calendar/teams",
        "products": f"{base}/products",
        "product": product_url,
        "product import": f"{base}/products/import",
        "new quote": f"{base}/deals/{deal_id}/quotes/new",
        "quote settings": f"{base}/settings/quotes",
        "new vendor import": f"{base}/vendor-imports/new",
        "vendor import dry run": vendor.headers["Location"],
    }
    leaks = {name: page_leaks(text, data) for name, text in pseudo_pages(client, surfaces).items()}
    assert {name: found for name, found in leaks.items() if found} == {}
