"""Tenant B's staff and tokens never reach tenant A's privacy records (pages and API)."""

from __future__ import annotations

from saas.db import tenant_session
from saas.modules.privacy import requests
from tests.conftest import bearer, login, make_token
from tests.privacy.conftest import add_contact


def test_tenant_b_gets_404_on_tenant_a_privacy_records(client, tenant_a, tenant_b):
    contact_id = add_contact(tenant_a, last_name="Private", email="private@example.com")
    with tenant_session(tenant_a.ref) as session:
        request_id = requests.open_request(
            session,
            kind="access",
            contact_id=contact_id,
            channel="staff",
            actor="t",
            verification_method="in_person",
        ).id
    headers_b = bearer(make_token(tenant_b))
    assert client.get(f"/api/v1/privacy/requests/{request_id}", headers=headers_b).status_code == 404
    assert client.get(f"/api/v1/contacts/{contact_id}/consents", headers=headers_b).status_code == 404
    posted = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "granted"},
        headers=headers_b,
    )
    assert posted.status_code == 404
    assert client.get("/api/v1/privacy/requests", headers=headers_b).json["data"] == []

    login(client, tenant_b.email, tenant_b.password)
    assert client.get(f"/t/{tenant_b.slug}/privacy/requests/{request_id}").status_code == 404
    assert client.get(f"/t/{tenant_b.slug}/privacy/requests/{request_id}/data.json").status_code == 404
    assert client.get(f"/t/{tenant_b.slug}/privacy/contacts/{contact_id}/consents").status_code == 404
    assert str(request_id) not in client.get(f"/t/{tenant_b.slug}/privacy/requests?all=1").text
    # The slug only chooses among the user's own workspaces: A's pages are a 404 for B's owner.
    assert client.get(f"/t/{tenant_a.slug}/privacy/requests/{request_id}").status_code == 404
