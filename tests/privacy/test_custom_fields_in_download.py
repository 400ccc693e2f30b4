"""A person's copy of their data holds the custom field values kept on them (contact, lead, ticket),
including a deleted field's values awaiting a purge; another workspace's fields never appear."""

from __future__ import annotations

from tests.conftest import bearer, make_token
from tests.privacy.conftest import sign_in_to_center


def _define(client, headers, entity: str, key: str, label: str) -> str:
    response = client.post(
        "/api/v1/custom-fields",
        json={"entity": entity, "key": key, "label": label, "field_type": "text"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_download_holds_custom_values_of_every_record_of_the_person(
    client, tenant_a, tenant_b, mail_sink
):
    a = bearer(make_token(tenant_a))
    _define(client, a, "contacts", "shoe_size", "Shoe size")
    hobby = _define(client, a, "contacts", "hobby", "Hobby")
    _define(client, a, "leads", "budget_note", "Budget note")
    _define(client, a, "tickets", "device", "Device")
    contact = client.post(
        "/api/v1/contacts",
        json={"last_name": "Held", "email": "held@example.com",
              "custom_fields": {"shoe_size": "44", "hobby": "chess"}},
        headers=a,
    ).get_json()  # fmt: skip
    lead = client.post(
        "/api/v1/leads",
        json={"last_name": "Held", "email": "held@example.com", "custom_fields": {"budget_note": "tight"}},
        headers=a,
    )
    assert lead.status_code == 201, lead.get_json()
    ticket = client.post(
        "/api/v1/tickets",
        json={
            "subject": "Broken",
            "requester_contact_id": contact["id"],
            "custom_fields": {"device": "phone"},
        },
        headers=a,
    )
    assert ticket.status_code == 201, ticket.get_json()
    # Deleted, not purged: the value is still held, so it is still the person's to see.
    assert client.delete(f"/api/v1/custom-fields/{hobby}", headers=a).status_code in (200, 204)
    b = bearer(make_token(tenant_b))
    _define(client, b, "contacts", "secret_b", "Tenant B only")
    client.post("/api/v1/contacts", json={"last_name": "Held", "email": "held@example.com",
                                          "custom_fields": {"secret_b": "b-value"}}, headers=b)  # fmt: skip

    sign_in_to_center(client, mail_sink, tenant_a.slug, "held@example.com")
    data = client.get(f"/hub/{tenant_a.slug}/download").json["data"]
    assert data["core"]["contact"]["custom_fields"] == {"Shoe size": "44", "Hobby": "chess"}
    assert [lead["custom_fields"] for lead in data["sfa"]["leads"]] == [{"Budget note": "tight"}]
    assert [t["custom_fields"] for t in data["service"]["tickets"]] == [{"Device": "phone"}]
    assert "b-value" not in str(data) and "Tenant B only" not in str(data)
