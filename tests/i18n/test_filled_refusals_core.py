"""Refusals of the core module that name what they refused (a sort, a key, a number, a byte) read whole in
the reader's language on the page that shows them, value and all, while the API's problem+json keeps the
English sentence. Shown in the pseudo-locale, where every translated text is ⟦wrapped⟧."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.core import bulk, services
from saas.modules.registry import registry
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.i18n.refusals import api_in_english, page_text, post_form
from tests.i18n.test_pseudo_locale import HEADERS, pseudo_locale  # noqa: F401


def test_a_list_names_the_unknown_sort_in_the_readers_language_and_the_api_in_english(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    secret = make_token(tenant_a)
    login(client, tenant_a.email, tenant_a.password)

    page = client.get(f"/t/{tenant_a.slug}/contacts?sort=shoe_size", headers=HEADERS)
    assert page.status_code == 422
    assert "⟦Unknown sort 'shoe_size'.⟧" in page_text(page)

    api = client.get("/api/v1/contacts?sort=shoe_size", headers={**HEADERS, **bearer(secret)})
    assert api.status_code == 422 and api.content_type == "application/problem+json"
    assert api.json["detail"].startswith("Unknown sort 'shoe_size'.") and "⟦" not in api.text
    assert api.json["errors"]["sort"][0].startswith("This list can sort by ")


def test_custom_field_settings_name_the_reserved_key_in_the_readers_language_and_the_api_in_english(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    definition = {"entity": "contacts", "key": "email", "label": "E", "field_type": "text"}

    page = post_form(client, f"/t/{tenant_a.slug}/settings/custom-fields", definition)
    assert page.status_code == 422
    assert "⟦'email' is reserved: contacts have a built-in field of that name.⟧" in page_text(page)

    api = api_in_english(client, tenant_a, "POST", "/api/v1/custom-fields", json=definition)
    assert api.status_code == 422
    assert api.json["detail"].startswith("'email' is reserved: contacts have a built-in field of that name.")


def test_a_contact_form_refuses_a_phone_with_the_example_in_the_readers_language_and_the_api_in_english(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    ring = {"last_name": "Ring", "phone": "12"}

    page = post_form(client, f"/t/{tenant_a.slug}/contacts/new", ring)
    assert page.status_code == 422
    # The example number is the value: it is inside the translated sentence, not after it.
    assert re.search(
        r"⟦Not a phone number: write it with its country code, e\.g\. \+[\d ]+\.⟧", page_text(page)
    )

    api = api_in_english(client, tenant_a, "POST", "/api/v1/contacts", json=ring)
    assert api.status_code == 422
    assert re.match(
        r"Not a phone number: write it with its country code, e\.g\. \+[\d ]+\.$",
        api.json["errors"]["phone"][0],
    )


def test_a_contact_form_names_the_unmatched_account_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    form = {"last_name": "Loner", "account_id": "", "account_id_q": "Nowhere Ltd"}

    page = post_form(client, f"/t/{tenant_a.slug}/contacts/new", form)
    assert page.status_code == 422
    assert "⟦Nothing matches “Nowhere Ltd”: type another name, or leave it empty.⟧" in page_text(page)


def test_the_import_page_names_the_byte_that_is_not_utf8_in_the_readers_language_and_the_api_in_english(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    latin1 = "Müller,mueller@example.org\n".encode("latin-1")
    refusal = (
        "The file is not UTF-8 text (byte 0xfc at position 1). Save it as “CSV UTF-8” and upload it again."
    )

    upload = {"entity": "contacts", "file": (io.BytesIO(latin1), "people.csv")}
    page = post_form(client, f"/t/{tenant_a.slug}/imports/new", upload)
    assert page.status_code == 422
    assert f"⟦{refusal}⟧" in page_text(page)

    upload = {"entity": "contacts", "file": (io.BytesIO(latin1), "people.csv")}
    api = api_in_english(client, tenant_a, "POST", "/api/v1/imports", data=upload)
    assert api.status_code == 422 and api.json["detail"].startswith(refusal)


def test_the_reports_page_names_what_a_report_may_group_by_in_the_readers_language(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(
        f"/t/{tenant_a.slug}/reports?entity=contacts&group_by=shoe_size&measure=count", headers=HEADERS
    )
    shown = page_text(page)
    assert re.search(r"⟦Group by one of: [a-z_, ]+\.⟧", shown), shown[:2000]


def test_a_bulk_jobs_stored_refusal_reads_in_the_readers_language_with_its_value(
    app,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    # A job's progress is kept as JSON: the refusal comes back as English text with its phrase beside it.
    report = bulk.BulkReport(total=1)
    with tenant_session(tenant_a.ref) as session:
        contacts = registry.record_type(session, "contacts")
        with pytest.raises(ValidationError) as refused:
            bulk.checked_action(session, contacts, "fly_to_the_moon", None, "owner")
    report.refuse(uuid.uuid4(), refused.value.detail)
    failure = json.loads(json.dumps(report.as_dict()))["failures"][0]

    assert failure["error"] == "Unknown action 'fly_to_the_moon'."
    with app.test_request_context(headers=HEADERS):
        assert bulk.shown_failure(failure) == "⟦Unknown action 'fly_to_the_moon'.⟧"


def test_a_restore_into_a_workspace_with_records_names_them_in_the_readers_language_and_the_api_in_english(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"first_name": "Kept", "last_name": "Here"})
    secret = make_token(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    restore = f"/t/{tenant_a.slug}/settings/restore"
    token = csrf_token_from(client.get(restore, headers=HEADERS).text)
    refusal = re.compile(
        r"This workspace already holds records \([a-z_, ]*contacts[a-z_, ]*\)\. An archive is restored only "
        r"into an empty workspace, so that nothing is overwritten: export this one first if you need it, "
        r"then restore into a new workspace\."
    )

    page = client.post(
        restore,
        data={"csrf_token": token, "archive": (io.BytesIO(b"PK\x05\x06" + bytes(18)), "a.zip")},
        content_type="multipart/form-data",
        headers=HEADERS,
        follow_redirects=True,
    )
    assert re.search(f"⟦{refusal.pattern}⟧", page_text(page)), page_text(page)[:3000]

    api = client.post(
        "/api/v1/restores",
        data={"archive": (io.BytesIO(b"PK\x05\x06" + bytes(18)), "a.zip")},
        headers={**HEADERS, **bearer(secret)},
    )
    assert api.status_code == 409 and refusal.match(api.json["detail"]) and "⟦" not in api.text
