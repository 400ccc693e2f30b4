"""Tenant isolation of custom fields: B cannot read, change, delete, restore or purge A's definitions, filter
on A's fields or see A's columns; only owners and admins change definitions."""

from __future__ import annotations

import pytest

from saas.db import db, tenant_session
from saas.modules.core import custom_fields
from saas.modules.core.models import CustomField
from tests.conftest import PASSWORD, bearer, make_token


@pytest.fixture
def a_field(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        field = custom_fields.define_field(
            session, "contacts", {"key": "secret", "label": "Secret", "field_type": "text"}
        )
        db.session.commit()  # its audit entry
        return field.id


def _unchanged(tenant_a, field_id) -> bool:
    with tenant_session(tenant_a.ref) as session:
        field = session.get(CustomField, field_id)
        return field is not None and (field.label, field.deleted_at) == ("Secret", None)


def test_tenant_b_token_gets_404_for_every_custom_field_route_on_tenant_a_ids(
    client, tenant_a, tenant_b, a_field
):
    headers = bearer(make_token(tenant_b))
    url = f"/api/v1/custom-fields/{a_field}"
    for method, path, extra in [
        ("get", url, {}),
        ("patch", url, {"json": {"label": "Mine"}}),
        ("delete", url, {}),
        ("post", f"{url}/restore", {}),
        ("post", f"{url}/purge", {}),
    ]:
        response = getattr(client, method)(path, headers=headers, **extra)
        assert response.status_code == 404, (method, path, response.get_json())
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/custom-fields", headers=headers).get_json()["data"] == []
    assert client.get("/api/v1/contacts?cf_secret=x", headers=headers).status_code == 422
    mine = client.post(
        "/api/v1/contacts", json={"last_name": "B", "custom_fields": {"secret": "x"}}, headers=headers
    )
    assert mine.status_code == 422
    assert _unchanged(tenant_a, a_field)


def test_members_read_custom_fields_but_only_owners_and_admins_change_them(client, tenant_a, a_field):
    from saas.auth.services import add_member, create_api_token

    add_member(db.session, tenant_a.tenant.id, "worker@example.com", PASSWORD, "member", actor="test")
    _, secret = create_api_token(db.session, tenant_a.slug, "worker@example.com", "tests")
    db.session.commit()
    headers = bearer(secret)
    url = f"/api/v1/custom-fields/{a_field}"
    assert client.get(url, headers=headers).status_code == 200
    for method, path, extra in [
        (
            "post",
            "/api/v1/custom-fields",
            {"json": {"entity": "contacts", "key": "x", "label": "X", "field_type": "text"}},
        ),
        ("patch", url, {"json": {"label": "Mine"}}),
        ("delete", url, {}),
        ("post", f"{url}/purge", {}),
    ]:
        response = getattr(client, method)(path, headers=headers, **extra)
        assert response.status_code == 403, (method, path, response.get_json())
    assert _unchanged(tenant_a, a_field)
