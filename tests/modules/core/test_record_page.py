"""A record's page: properties beside the timeline, each saved in place through the record's property
endpoint (the edit form's validation and service, errors at the field, custom fields included), the composer
logging on the timeline, and related records with "add"; another workspace can change nothing there."""

from __future__ import annotations

from saas.db import db, tenant_session
from saas.modules.core import custom_fields
from saas.modules.core.services import accounts, contacts
from tests.conftest import csrf_token_from, login


def _contact(tenant, **data):
    with tenant_session(tenant.ref) as session:
        account = accounts.create(session, {"name": "Acme"})
        contact = contacts.create(
            session, {"first_name": "Zoë", "last_name": "Lee", "account_id": account.id, **data}
        )
        return contact.id, account.id


def _save(client, url: str, token: str, name: str, value):
    return client.post(f"{url}/property", json={"name": name, "value": value}, headers={"X-CSRFToken": token})


def test_a_property_saved_in_place_shows_its_field_error_then_the_saved_value_on_reload(client, tenant_a):
    contact_id, _ = _contact(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/contacts/{contact_id}"
    page = client.get(url).text
    assert 'class="record-properties"' in page and 'data-property="phone"' in page
    assert f'data-save-url="{url}/property"' in page
    token = csrf_token_from(page)
    refused = _save(client, url, token, "phone", "call the front desk")
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    assert refused.get_json()["errors"]["phone"][0].startswith("Not a phone number")
    saved = _save(client, url, token, "phone", "+49 30 1234567")
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["value"] == "+49301234567" and "30 1234567" in saved.get_json()["shown"]
    assert "+49 30 1234567" in client.get(url).text  # the reload reads what was stored
    with tenant_session(tenant_a.ref) as session:
        assert contacts.get(session, contact_id).phone == "+49301234567"


def test_a_custom_field_and_a_select_are_saved_in_place_and_unknown_fields_refused(client, tenant_a):
    contact_id, account_id = _contact(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        custom_fields.define_field(
            session,
            "contacts",
            {"key": "tier", "label": "Tier", "field_type": "single_select", "options": ["gold", "silver"]},
        )
    db.session.commit()
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/contacts/{contact_id}"
    token = csrf_token_from(client.get(url).text)
    wrong = _save(client, url, token, "cf_tier", "bronze")
    assert wrong.status_code == 422 and wrong.get_json()["errors"]["cf_tier"]
    assert _save(client, url, token, "cf_tier", "gold").get_json()["shown"] == "gold"
    cleared = _save(client, url, token, "account_id", "")
    assert cleared.status_code == 200 and cleared.get_json()["value"] is None
    back = _save(client, url, token, "account_id", str(account_id))
    assert f"/accounts/{account_id}" in back.get_json()["shown"]  # shown as a link to the account
    for name in ("id", "created_at", "search_vector", ""):
        assert _save(client, url, token, name, "x").status_code == 422
    page = client.get(url).text
    assert "gold" in page and ">Acme</a>" in page


def test_without_the_csrf_token_nothing_is_saved(client, tenant_a):
    contact_id, _ = _contact(tenant_a, phone="+49301234567")
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/contacts/{contact_id}"
    assert client.post(f"{url}/property", json={"name": "phone", "value": "+4940123456"}).status_code == 400
    with tenant_session(tenant_a.ref) as session:
        assert contacts.get(session, contact_id).phone == "+49301234567"


def test_tenant_b_cannot_change_tenant_a_record_in_place(client, tenant_a, tenant_b):
    contact_id, _ = _contact(tenant_a)
    login(client, tenant_b.email, tenant_b.password)
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/contacts").text)
    for slug in (tenant_b.slug, tenant_a.slug):
        answer = _save(client, f"/t/{slug}/contacts/{contact_id}", token, "last_name", "Hacked")
        assert answer.status_code in (403, 404)
    with tenant_session(tenant_a.ref) as session:
        assert contacts.get(session, contact_id).last_name == "Lee"


def test_the_composer_logs_a_call_and_an_account_lists_its_contacts_with_add(client, tenant_a):
    contact_id, account_id = _contact(tenant_a)
    login(client, tenant_a.email, tenant_a.password)
    url = f"/t/{tenant_a.slug}/contacts/{contact_id}"
    page = client.get(url).text
    assert 'name="kind" value="call"' in page and "New task" in page
    logged = client.post(
        f"{url}/activities",
        data={"csrf_token": csrf_token_from(page), "kind": "call", "subject": "Called about renewal"},
    )
    assert logged.status_code == 302
    assert "Called about renewal" in client.get(url).text
    account_page = client.get(f"/t/{tenant_a.slug}/accounts/{account_id}").text
    assert 'class="related-lists"' in account_page and "Zoë Lee" in account_page
    assert f"/t/{tenant_a.slug}/contacts/new?account_id={account_id}" in account_page
    assert f"/t/{tenant_a.slug}/deals/new?account_id={account_id}" in account_page
