"""Custom fields on tickets: written, read and filtered by the API and the ticket pages for every type,
required and default honoured for the team's input, bad values refused with nothing stored, tickets from
inbound mail and the portal opened despite a required field, tenant B never sees tenant A's field or
ticket, a switched-off service hides them and gives them back, and the export carries the column."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select, text

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.service.email import inbound_secret, tenant_address
from saas.modules.service.models import Ticket, TicketEvent
from saas.modules.switches import set_module_enabled
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.modules.service.conftest import add_contact, raw_mail, sign_in_to_portal


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _define(client, headers, key: str, field_type: str, **extra) -> dict:
    body = {"entity": "tickets", "key": key, "label": key.replace("_", " ").title(), "field_type": field_type}
    response = client.post("/api/v1/custom-fields", json={**body, **extra}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _open(client, headers, subject: str, values: dict | None = None):
    body = {"subject": subject} if values is None else {"subject": subject, "custom_fields": values}
    return client.post("/api/v1/tickets", json=body, headers=headers)


def _subjects(client, headers, query: str) -> list[str]:
    response = client.get(f"/api/v1/tickets?{query}", headers=headers)
    assert response.status_code == 200, (query, response.get_json())
    return sorted(row["subject"] for row in response.get_json()["data"])


def _counts(fixture) -> tuple[int, int]:
    with tenant_session(fixture.ref) as session:
        return (
            session.scalar(select(func.count()).select_from(Ticket)),
            session.scalar(select(func.count()).select_from(TicketEvent)),
        )


def _stored(fixture, ticket_id, column: str):
    """The raw column, read past the API: what is really in the tenant's table."""
    with tenant_session(fixture.ref) as session:
        return session.execute(
            text(f'SELECT "{column}" FROM "{fixture.ref.schema_name}".tickets WHERE id = :id'),
            {"id": uuid.UUID(str(ticket_id))},
        ).scalar_one()


def _switch(fixture, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, "service", enabled, actor="test")
    db.session.commit()


def test_ticket_custom_fields_of_every_type_are_written_read_patched_and_filtered_by_the_api(
    client, tenant_a, headers
):
    _define(client, headers, "product", "text")
    _define(client, headers, "seats", "number")
    _define(client, headers, "plan", "single_select", options=["free", "pro"])
    _define(client, headers, "areas", "multi_select", options=["billing", "login", "api"])
    _define(client, headers, "since", "date")
    _define(client, headers, "urgent_for_us", "boolean")
    _define(client, headers, "reporter", "reference", reference="contacts")
    contact = add_contact(tenant_a, first_name="Rita", email="rita@example.com")
    full = {
        "product": "Printer X", "seats": "12.5", "plan": "pro", "areas": ["billing", "api"],
        "since": "2024-02-29", "urgent_for_us": True, "reporter": contact,
    }  # fmt: skip
    created = _open(client, headers, "Full", full)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["custom_fields"] == full
    assert _stored(tenant_a, created.get_json()["id"], "cf_areas") == ["billing", "api"]
    small = _open(client, headers, "Small", {"seats": 3, "plan": "free", "areas": ["login"]}).get_json()
    assert _open(client, headers, "Bare").status_code == 201

    read = client.get(f"/api/v1/tickets/{created.get_json()['id']}", headers=headers).get_json()
    assert read["custom_fields"] == full
    listed = client.get("/api/v1/tickets", headers=headers).get_json()["data"]
    assert {row["subject"]: row["custom_fields"]["seats"] for row in listed} == {
        "Full": "12.5", "Small": "3", "Bare": None,
    }  # fmt: skip
    assert _subjects(client, headers, "cf_plan=pro") == ["Full"]
    assert _subjects(client, headers, "cf_areas=billing") == ["Full"]
    assert _subjects(client, headers, "cf_seats=3&cf_plan=free") == ["Small"]
    assert _subjects(client, headers, "cf_since=2024-02-29") == ["Full"]
    assert _subjects(client, headers, "cf_urgent_for_us=true") == ["Full"]
    assert _subjects(client, headers, f"cf_reporter={contact}") == ["Full"]
    assert _subjects(client, headers, "cf_product=Printer%20X&status=new") == ["Full"]
    assert _subjects(client, headers, "cf_plan=pro&q=Small") == []

    patched = client.patch(
        f"/api/v1/tickets/{small['id']}",
        json={"custom_fields": {"plan": "pro", "areas": []}, "priority": "high"},
        headers=headers,
    )
    assert patched.status_code == 200, patched.get_json()
    values = patched.get_json()["custom_fields"]
    assert (values["plan"], values["areas"], values["seats"]) == ("pro", None, "3")  # others untouched
    assert patched.get_json()["priority"] == "high"
    assert _subjects(client, headers, "cf_plan=pro") == ["Full", "Small"]
    history = client.get(f"/api/v1/tickets/{small['id']}/history", headers=headers).get_json()["data"]
    assert {"action": "cf_plan.changed", "from": "free", "to": "pro"} in [
        {"action": e["action"], **e["details"]} for e in history
    ]
    only_custom = client.patch(
        f"/api/v1/tickets/{small['id']}", json={"custom_fields": {"product": "Scanner"}}, headers=headers
    )
    assert only_custom.status_code == 200
    assert only_custom.get_json()["updated_at"] > patched.get_json()["updated_at"]


def test_required_and_default_apply_to_api_input_and_bad_values_get_422_storing_nothing(
    client, tenant_a, headers
):
    _define(client, headers, "seats", "number", required=True)
    _define(client, headers, "plan", "single_select", options=["free", "pro"], default_value="free")
    _define(client, headers, "site", "url")
    _define(client, headers, "reporter", "reference", reference="contacts")
    bad = [
        {},  # the required seats missing
        {"seats": None},
        {"seats": "many"},
        {"seats": 1, "plan": "gold"},
        {"seats": 1, "site": "javascript:alert(1)"},
        {"seats": 1, "reporter": str(uuid.uuid4())},
        {"seats": 1, "nope": "x"},
    ]
    for values in bad:
        response = _open(client, headers, "Refused", values)
        assert response.status_code == 422, (values, response.get_json())
        assert response.mimetype == "application/problem+json"
    assert _open(client, headers, "No custom_fields at all").status_code == 422
    assert _counts(tenant_a) == (0, 0)  # no ticket, no history: one transaction

    ok = _open(client, headers, "Fine", {"seats": 2})
    assert ok.status_code == 201 and ok.get_json()["custom_fields"]["plan"] == "free"  # the default
    ticket_id = ok.get_json()["id"]
    before = _counts(tenant_a)
    for body in (
        {"custom_fields": {"seats": None}},
        {"custom_fields": {"seats": "x"}},
        {"custom_fields": {"plan": "gold"}, "subject": "Changed"},
        {"custom_fields": {"nope": 1}, "priority": "urgent"},
        {"custom_fields": "not a mapping"},
    ):
        response = client.patch(f"/api/v1/tickets/{ticket_id}", json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
    after = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert (after["subject"], after["priority"]) == ("Fine", "normal")
    assert after["custom_fields"] == {"seats": "2", "plan": "free", "site": None, "reporter": None}
    assert _counts(tenant_a) == before
    for query in ("cf_seats=abc", "cf_plan=gold", "cf_nope=1", "cf_site=javascript:x"):
        response = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", query


def test_tickets_from_inbound_mail_and_the_portal_get_defaults_despite_a_required_field(
    client, tenant_a, headers, mail_sink
):
    _define(client, headers, "seats", "number", required=True)
    _define(client, headers, "plan", "single_select", options=["free", "pro"], default_value="pro")
    secret = inbound_secret(tenant_a.tenant.id)
    mail = client.post(
        f"/api/v1/service/inbound-mail/{tenant_a.slug}",
        data=raw_mail("Cy <cy@example.com>", tenant_address(tenant_a.slug), "Broken", "It broke"),
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {secret}"},
    )
    assert mail.status_code == 201, mail.get_json()
    by_mail = client.get(f"/api/v1/tickets/{mail.get_json()['ticket_id']}", headers=headers).get_json()
    assert by_mail["custom_fields"] == {"seats": None, "plan": "pro"}

    # A default whose referenced record was deleted since is left out: never a lost customer ticket.
    gone = add_contact(tenant_a, first_name="Gone", email="gone@example.com")
    _define(client, headers, "owner", "reference", reference="contacts", default_value=gone)
    with tenant_session(tenant_a.ref) as session:
        services.contacts.delete(session, uuid.UUID(gone))
    add_contact(tenant_a, first_name="Ann", email="ann@example.com")
    sign_in_to_portal(client, mail_sink, tenant_a.slug, "ann@example.com")
    base = f"/hub/{tenant_a.slug}"
    form = client.get(f"{base}/tickets/new")
    assert "cf_seats" not in form.text  # the team's fields are not the customer's
    created = client.post(
        f"{base}/tickets/new",
        data={"csrf_token": csrf_token_from(form.text), "subject": "Via portal", "description": "Help"},
    )
    assert created.status_code == 302
    portal = [
        t
        for t in client.get("/api/v1/tickets", headers=headers).get_json()["data"]
        if t["channel"] == "portal"
    ]
    assert [(t["subject"], t["custom_fields"]) for t in portal] == [
        ("Via portal", {"seats": None, "plan": "pro", "owner": None})
    ]
    # The team's own input must still give the required value when it sets the field.
    refused = client.patch(
        f"/api/v1/tickets/{portal[0]['id']}", json={"custom_fields": {"seats": None}}, headers=headers
    )
    assert refused.status_code == 422


def test_ticket_pages_show_save_and_filter_custom_fields(client, tenant_a, headers):
    _define(client, headers, "plan", "single_select", options=["free", "pro"], required=True,
            help_text="The customer's current plan.")  # fmt: skip
    _define(client, headers, "areas", "multi_select", options=["billing", "login"])
    _define(client, headers, "urgent_for_us", "boolean", default_value=True)
    _define(client, headers, "seats", "number")
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    form = client.get(f"{base}/tickets/new").text
    for name in ("cf_plan", "cf_areas", "cf_urgent_for_us", "cf_seats"):
        assert f'name="{name}"' in form, name
    assert "The customer&#39;s current plan." in form
    assert re.search(r'<option value="yes" selected>', form)  # the default, shown
    token = csrf_token_from(form)
    ticket = {"csrf_token": token, "subject": "Page ticket", "priority": "normal", "channel": "phone"}

    missing = client.post(f"{base}/tickets/new", data=ticket)
    assert missing.status_code == 422 and "Plan is required" in missing.text
    wrong = client.post(f"{base}/tickets/new", data={**ticket, "cf_plan": "pro", "cf_seats": "lots"})
    assert wrong.status_code == 422 and "Seats" in wrong.text
    assert 'value="lots"' in wrong.text  # the input is shown again to correct
    assert _counts(tenant_a) == (0, 0)

    saved = client.post(
        f"{base}/tickets/new",
        data={**ticket, "cf_plan": "pro", "cf_areas": ["billing", "login"], "cf_urgent_for_us": "yes",
              "cf_seats": "7"},
    )  # fmt: skip
    assert saved.status_code == 302, saved.text
    ticket_id = re.search(r"/tickets/([0-9a-f-]{36})", saved.location).group(1)
    detail = client.get(f"{base}/tickets/{ticket_id}").text
    assert (
        "billing, login" in detail and "Yes" in detail and re.search(r"<dt>Plan</dt>\s*<dd>pro</dd>", detail)
    )
    assert re.search(r'<option value="pro" selected>', detail)  # the edit form holds the values
    other = client.post(f"{base}/tickets/new", data={**ticket, "subject": "Free one", "cf_plan": "free"})
    assert other.status_code == 302

    edit = {"csrf_token": token, "subject": "Page ticket", "status": "open", "priority": "high",
            "cf_plan": "free", "cf_areas": ["login"], "cf_urgent_for_us": "no", "cf_seats": "8"}  # fmt: skip
    assert client.post(f"{base}/tickets/{ticket_id}/edit", data=edit).status_code == 302
    values = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["custom_fields"]
    assert values == {"plan": "free", "areas": ["login"], "urgent_for_us": False, "seats": "8"}
    bad_edit = client.post(
        f"{base}/tickets/{ticket_id}/edit", data={**edit, "cf_plan": "", "priority": "low"}
    )
    assert bad_edit.status_code == 422 and "Plan is required" in bad_edit.text
    after = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert after["priority"] == "high" and after["custom_fields"]["plan"] == "free"

    listing = client.get(f"{base}/tickets").text
    assert 'name="cf_plan"' in listing and 'name="cf_areas"' in listing  # the list's filters
    pro = client.get(f"{base}/tickets?cf_plan=free&cf_areas=login").text
    assert "Page ticket" in pro and "Free one" not in pro
    assert "Free one" in client.get(f"{base}/tickets?cf_plan=free&cf_areas=").text
    refused = client.get(f"{base}/tickets?cf_seats=many")
    assert refused.status_code == 422 and "Page ticket" not in refused.text
    assert client.get(f"{base}/tickets?cf_nope=1").status_code == 422


def test_tenant_b_never_sees_or_changes_tenant_a_ticket_fields(client, tenant_a, tenant_b, headers):
    _define(client, headers, "secret_plan", "single_select", options=["gold"])
    a_ticket = _open(client, headers, "A's ticket", {"secret_plan": "gold"}).get_json()["id"]
    b_headers = bearer(make_token(tenant_b))
    b_ticket = _open(client, b_headers, "B's ticket")
    assert b_ticket.status_code == 201 and b_ticket.get_json()["custom_fields"] == {}
    assert all(
        row["custom_fields"] == {}
        for row in client.get("/api/v1/tickets", headers=b_headers).get_json()["data"]
    )
    refused = client.get("/api/v1/tickets?cf_secret_plan=gold", headers=b_headers)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert _open(client, b_headers, "Try", {"secret_plan": "gold"}).status_code == 422
    b_id = b_ticket.get_json()["id"]
    patch = client.patch(
        f"/api/v1/tickets/{b_id}", json={"custom_fields": {"secret_plan": "gold"}}, headers=b_headers
    )
    assert patch.status_code == 422
    assert client.get(f"/api/v1/tickets/{a_ticket}", headers=b_headers).status_code == 404
    stolen = client.patch(f"/api/v1/tickets/{a_ticket}", json={"custom_fields": {}}, headers=b_headers)
    assert stolen.status_code == 404

    login(client, tenant_b.email, tenant_b.password)
    base = f"/t/{tenant_b.slug}"
    assert 'name="cf_secret_plan"' not in client.get(f"{base}/tickets/new").text
    assert client.get(f"{base}/tickets?cf_secret_plan=gold").status_code == 422
    assert client.get(f"{base}/tickets/{a_ticket}").status_code == 404
    token = csrf_token_from(client.get(f"{base}/tickets/new").text)
    edit = client.post(
        f"{base}/tickets/{a_ticket}/edit", data={"csrf_token": token, "subject": "Mine", "cf_secret_plan": ""}
    )
    assert edit.status_code == 404
    assert (
        client.get(f"/t/{tenant_a.slug}/tickets?cf_secret_plan=gold").status_code == 404
    )  # not B's workspace
    after = client.get(f"/api/v1/tickets/{a_ticket}", headers=headers).get_json()
    assert (after["subject"], after["custom_fields"]) == ("A's ticket", {"secret_plan": "gold"})
    assert _stored(tenant_a, a_ticket, "cf_secret_plan") == "gold"


def test_switched_off_service_refuses_ticket_field_routes_and_keeps_their_values(client, tenant_a, headers):
    _define(client, headers, "plan", "single_select", options=["free", "pro"])
    ticket_id = _open(client, headers, "Kept", {"plan": "pro"}).get_json()["id"]
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    token = csrf_token_from(client.get(f"{base}/tickets/new").text)

    _switch(tenant_a, False)
    calls = (
        client.get("/api/v1/tickets?cf_plan=pro", headers=headers),
        client.post(
            "/api/v1/tickets", json={"subject": "x", "custom_fields": {"plan": "free"}}, headers=headers
        ),
        client.patch(
            f"/api/v1/tickets/{ticket_id}", json={"custom_fields": {"plan": "free"}}, headers=headers
        ),
        client.get(f"/api/v1/tickets/{ticket_id}", headers=headers),
    )
    for response in calls:
        assert response.status_code == 404 and response.get_json()["title"] == "Module switched off"
    pages = (
        client.get(f"{base}/tickets?cf_plan=pro"),
        client.post(f"{base}/tickets/new", data={"csrf_token": token, "subject": "x", "cf_plan": "free"}),
        client.post(
            f"{base}/tickets/{ticket_id}/edit", data={"csrf_token": token, "subject": "x", "cf_plan": "free"}
        ),
    )
    for page in pages:
        assert page.status_code == 404 and "switched off" in page.text

    _switch(tenant_a, True)
    assert _subjects(client, headers, "cf_plan=pro") == ["Kept"]
    assert "Kept" in client.get(f"{base}/tickets?cf_plan=pro").text


def test_export_and_import_carry_a_ticket_custom_field_column(client, tenant_a, headers, tmp_path):
    from saas.auth.services import create_api_token
    from saas.exports.services import export_tenant_to_file
    from tests.exports.test_round_trip import _import

    _define(client, headers, "areas", "multi_select", options=["billing", 'a,"b"'])
    _open(client, headers, "Exported", {"areas": ["billing", 'a,"b"']})
    with open(tmp_path / "a.zip", "wb") as target:
        manifest = export_tenant_to_file(tenant_a.tenant, target)
    described = {c["name"]: c["type"] for c in manifest["tables"]["tickets"]["columns"]}
    assert described["cf_areas"] == "character varying(100)[]"
    imported = _import(tmp_path / "a.zip")
    _, secret = create_api_token(db.session, imported.tenant.slug, f"{imported.tenant.slug}@example.com", "t")
    db.session.commit()
    rows = client.get("/api/v1/tickets?cf_areas=billing", headers=bearer(secret)).get_json()["data"]
    assert [(r["subject"], r["custom_fields"]) for r in rows] == [
        ("Exported", {"areas": ["billing", 'a,"b"']})
    ]


def test_ticket_created_webhook_carries_the_custom_values(client, tenant_a, headers):
    from saas.webhooks.models import WebhookDelivery, WebhookSubscription

    _define(client, headers, "plan", "single_select", options=["free", "pro"], default_value="free")
    _define(client, headers, "seats", "number")
    with tenant_session(tenant_a.ref) as session:
        session.add(
            WebhookSubscription(url="https://hooks.example/x", events=["ticket.created"], secret="s" * 32)
        )
    ticket = _open(client, headers, "Hooked", {"seats": 4}).get_json()
    with tenant_session(tenant_a.ref) as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
        assert delivery.payload["id"] == ticket["id"]
        assert delivery.payload["custom_fields"] == {"plan": "free", "seats": "4"}


def test_the_workspace_openapi_document_types_the_ticket_fields(client, tenant_a, tenant_b, headers):
    _define(client, headers, "plan", "single_select", options=["free", "pro"], required=True)
    document = client.get("/api/v1/custom-fields/openapi.json", headers=headers).get_json()
    tickets_path = document["paths"]["/api/v1/tickets"]
    create = tickets_path["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = create["$ref"].rsplit("/", 1)[-1]
    typed = document["components"]["schemas"][name]["properties"]["custom_fields"]
    assert typed["properties"]["plan"]["enum"] == ["free", "pro"] and typed["required"] == ["plan"]
    assert "cf_plan" in {p["name"] for p in tickets_path["get"]["parameters"]}
    other = client.get("/api/v1/custom-fields/openapi.json", headers=bearer(make_token(tenant_b))).get_json()
    assert "cf_plan" not in {p["name"] for p in other["paths"]["/api/v1/tickets"]["get"]["parameters"]}


def test_ticket_lists_sort_by_a_ticket_custom_field_with_empty_values_last(client, tenant_a, headers):
    _define(client, headers, "seats", "number")
    for subject, seats in (("Five", 5), ("None", None), ("Two", 2)):
        assert _open(client, headers, subject, {"seats": seats}).status_code == 201

    def order(query: str) -> list[str]:
        response = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [row["subject"] for row in response.get_json()["data"]]

    assert order("sort=cf_seats") == ["Two", "Five", "None"]
    assert order("sort=-cf_seats") == ["Five", "Two", "None"]
    first = client.get("/api/v1/tickets?sort=cf_seats&limit=2", headers=headers).get_json()
    rest = order(f"sort=cf_seats&limit=2&cursor={first['next_cursor']}")
    assert [row["subject"] for row in first["data"]] + rest == ["Two", "Five", "None"]
    assert client.get("/api/v1/tickets?sort=cf_nope", headers=headers).status_code == 422
