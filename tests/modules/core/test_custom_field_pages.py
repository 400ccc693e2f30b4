"""Custom fields on pages: the admins' settings page, and the fields on record forms, detail pages and list
filters; bad definitions and values get a form message and write nothing; tenants and roles are kept apart."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core import custom_fields
from saas.modules.core.models import Contact, CustomField
from tests.conftest import PASSWORD, csrf_token_from, login


def _token(client, url):
    return csrf_token_from(client.get(url).text)


def test_admin_adds_a_field_and_it_appears_on_forms_detail_pages_and_list_filters(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    settings = f"{base}/settings/custom-fields"
    token = _token(client, settings)
    bad = client.post(
        settings,
        data={"csrf_token": token, "entity": "contacts", "key": "email", "label": "E", "field_type": "text"},
    )
    assert bad.status_code == 422 and "reserved" in bad.text
    added = client.post(
        settings,
        data={"csrf_token": token, "entity": "contacts", "key": "tier", "label": "Tier",
              "field_type": "single_select", "options": "gold\nsilver", "required": "1"},
    )  # fmt: skip
    assert added.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        assert [d.column_name for d in custom_fields.list_fields(session, "contacts")] == ["cf_tier"]
    form = client.get(f"{base}/contacts/new").text
    assert 'name="cf_tier"' in form and "gold" in form
    missing = client.post(f"{base}/contacts/new", data={"csrf_token": token, "last_name": "Nope"})
    assert missing.status_code == 422 and "Tier is required" in missing.text
    wrong = client.post(
        f"{base}/contacts/new", data={"csrf_token": token, "last_name": "Nope", "cf_tier": "tin"}
    )
    assert wrong.status_code == 422
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
    for name, tier in (("Goldie", "gold"), ("Silvia", "silver")):
        saved = client.post(
            f"{base}/contacts/new", data={"csrf_token": token, "last_name": name, "cf_tier": tier}
        )
        assert saved.status_code == 302, saved.text
    goldie = saved_id = re.search(r"/contacts/([0-9a-f-]{36})", saved.location).group(1)
    detail = client.get(f"{base}/contacts/{saved_id}").text
    assert "Tier" in detail and "silver" in detail
    edit = client.get(f"{base}/contacts/{goldie}/edit").text
    assert re.search(r'<option value="silver" selected>', edit)
    listed = client.get(f"{base}/contacts?cf_tier=gold").text
    assert "Goldie" in listed and "Silvia" not in listed
    assert client.get(f"{base}/contacts?cf_tier=tin").status_code == 422
    # Deleting hides the field from forms and pages; the data stays for a restore.
    with tenant_session(tenant_a.ref) as session:
        field_id = session.scalar(select(CustomField.id))
    assert client.post(f"{settings}/{field_id}/delete", data={"csrf_token": token}).status_code == 302
    assert 'name="cf_tier"' not in client.get(f"{base}/contacts/new").text
    assert "Deleted fields" in client.get(settings).text
    assert client.post(f"{settings}/{field_id}/restore", data={"csrf_token": token}).status_code == 302
    assert "silver" in client.get(f"{base}/contacts/{saved_id}").text


def test_tenant_b_and_members_cannot_change_tenant_a_fields_from_pages(client, tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        field_id = custom_fields.define_field(
            session, "accounts", {"key": "secret", "label": "Secret", "field_type": "text"}
        ).id
    db.session.commit()
    login(client, tenant_b.email, tenant_b.password)
    token = _token(client, f"/t/{tenant_b.slug}/settings/custom-fields")
    for slug in (tenant_b.slug, tenant_a.slug):
        base = f"/t/{slug}/settings/custom-fields"
        if slug == tenant_a.slug:
            assert client.get(base).status_code == 404
        assert "Secret" not in client.get(f"/t/{tenant_b.slug}/settings/custom-fields").text
        for action in ("", "/delete", "/restore", "/purge"):
            response = client.post(f"{base}/{field_id}{action}", data={"csrf_token": token, "label": "Mine"})
            assert response.status_code == 404, (slug, action)
    with tenant_session(tenant_a.ref) as session:
        field = session.get(CustomField, field_id)
        assert (field.label, field.deleted_at) == ("Secret", None)


def test_members_get_403_on_the_custom_field_settings(client, tenant_a):
    from saas.auth.services import add_member

    add_member(db.session, tenant_a.tenant.id, "worker@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, "worker@example.com", PASSWORD)
    settings = f"/t/{tenant_a.slug}/settings/custom-fields"
    assert client.get(settings).status_code == 403
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/contacts").text)
    body = {"csrf_token": token, "entity": "contacts", "key": "x", "label": "X", "field_type": "text"}
    assert client.post(settings, data=body).status_code == 403
    with tenant_session(tenant_a.ref) as session:
        assert custom_fields.list_fields(session) == []


def test_a_new_record_form_shows_the_fields_defaults(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base}/settings/custom-fields")
    tier = {"field_type": "single_select", "options": "gold\nsilver", "default_value": "silver"}
    for key, extra in (("tier", tier), ("city", {"field_type": "text", "default_value": "Lyon"})):
        added = client.post(
            f"{base}/settings/custom-fields",
            data={"csrf_token": token, "entity": "accounts", "key": key, "label": key.title(), **extra},
        )
        assert added.status_code == 302, added.text
    form = client.get(f"{base}/accounts/new").text
    assert re.search(r'<option value="silver" selected>', form)
    assert re.search(r'name="cf_city"[^>]*value="Lyon"|value="Lyon"[^>]*name="cf_city"', form)


def test_a_field_label_written_as_markup_is_shown_as_text_in_list_headers_and_the_import(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = _token(client, f"{base}/settings/custom-fields")
    label = "<i>Tier</i>"
    added = client.post(
        f"{base}/settings/custom-fields",
        data={"csrf_token": token, "entity": "contacts", "key": "tier", "label": label, "field_type": "text"},
    )
    assert added.status_code == 302
    listed = client.get(f"{base}/contacts?columns=name,cf_tier").text
    assert "&lt;i&gt;Tier&lt;/i&gt;" in listed and label not in listed
