"""Lead conversion: contact, account and deal in one transaction, matched to existing records, never twice."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from saas.db import tenant_session
from saas.modules.core import services
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.sfa.models import Deal, DealContact, Lead, Pipeline, Stage
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _lead(client, headers, **fields) -> str:
    body = {"first_name": "Pat", "last_name": "Doe", "status": "qualified", **fields}
    response = client.post("/api/v1/leads", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _counts(fixture) -> dict[str, int]:
    with tenant_session(fixture.ref) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Contact, Account, Deal, DealContact, Activity)
        }


def test_converting_a_qualified_lead_makes_contact_account_and_timeline_entry(client, tenant_a, headers):
    lead_id = _lead(client, headers, email="pat@initech.example", company="Initech", phone="+1 212 555 0100")
    response = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=headers)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["contact_created"] and result["account_created"] and result["deal_id"] is None
    lead = result["lead"]
    assert lead["status"] == "converted" and lead["converted_at"]
    assert (lead["converted_contact_id"], lead["converted_account_id"]) == (
        result["contact_id"], result["account_id"],
    )  # fmt: skip
    contact = client.get(f"/api/v1/contacts/{result['contact_id']}", headers=headers).get_json()
    assert (contact["email"], contact["phone"], contact["account_id"]) == (
        "pat@initech.example", "+12125550100", result["account_id"],
    )  # fmt: skip
    account = client.get(f"/api/v1/accounts/{result['account_id']}", headers=headers).get_json()
    assert (account["name"], account["domain"]) == ("Initech", "initech.example")
    with tenant_session(tenant_a.ref) as session:
        entry = session.scalars(select(Activity).where(Activity.contact_id == contact["id"])).one()
        assert (entry.kind, entry.subject_type, str(entry.subject_id)) == ("system", "lead", lead_id)
        assert str(entry.account_id) == result["account_id"] and entry.actor_user_id is not None


def test_second_lead_with_the_same_email_links_the_existing_contact(client, tenant_a, headers):
    first = client.post(
        f"/api/v1/leads/{_lead(client, headers, email='sam@globex.example', company='Globex')}/convert",
        json={}, headers=headers,
    ).get_json()  # fmt: skip
    before = _counts(tenant_a)
    second_id = _lead(client, headers, first_name="Samuel", email="SAM@Globex.example", company="Globex")
    second = client.post(f"/api/v1/leads/{second_id}/convert", json={}, headers=headers)
    assert second.status_code == 200
    result = second.get_json()
    assert result["contact_id"] == first["contact_id"] and not result["contact_created"]
    assert result["account_id"] == first["account_id"] and not result["account_created"]
    after = _counts(tenant_a)
    assert (after["contacts"], after["accounts"]) == (before["contacts"], before["accounts"])
    assert after["activities"] == before["activities"] + 1


def test_account_is_matched_by_email_domain_before_company_name(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        by_domain = services.accounts.create(
            session, {"name": "Umbrella Holding", "domain": "Umbrella.example"}
        )
        services.accounts.create(session, {"name": "Umbrella"})
    lead_id = _lead(client, headers, email="ann@umbrella.example", company="Umbrella")
    result = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=headers).get_json()
    assert result["account_id"] == str(by_domain.id) and not result["account_created"]


def test_account_is_matched_by_company_name_when_the_address_is_free_mail(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        existing = services.accounts.create(session, {"name": "Acme Corp", "domain": "acme.example"})
    before = _counts(tenant_a)["accounts"]
    lead_id = _lead(client, headers, email="wile@gmail.com", company="ACME corp")
    result = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=headers).get_json()
    assert result["account_id"] == str(existing.id) and not result["account_created"]
    assert _counts(tenant_a)["accounts"] == before
    # A new account never takes a free-mail domain, which would pull every such lead into it.
    other = _lead(client, headers, email="road@gmail.com", company="Runner Ltd")
    made = client.post(f"/api/v1/leads/{other}/convert", json={}, headers=headers).get_json()
    assert made["account_created"]
    assert client.get(f"/api/v1/accounts/{made['account_id']}", headers=headers).get_json()["domain"] is None


def test_conversion_can_open_a_deal_in_the_default_pipelines_first_stage(client, tenant_a, headers):
    lead_id = _lead(client, headers, email="deal@hooli.example", company="Hooli")
    response = client.post(
        f"/api/v1/leads/{lead_id}/convert",
        json={"deal": {"name": "Hooli platform", "amount": "12500.50", "currency": "USD"}},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    with tenant_session(tenant_a.ref) as session:
        deal = session.get(Deal, result["deal_id"])
        assert (deal.name, str(deal.amount), deal.currency, deal.status) == (
            "Hooli platform", "12500.50", "USD", "open",
        )  # fmt: skip
        assert (deal.stage.name, deal.pipeline.is_default) == ("Prospecting", True)
        assert str(deal.account_id) == result["account_id"]
        links = session.scalars(select(DealContact.contact_id).where(DealContact.deal_id == deal.id)).all()
        assert [str(c) for c in links] == [result["contact_id"]]
        assert str(session.get(Lead, lead_id).converted_deal_id) == result["deal_id"]


@pytest.mark.parametrize("status", ["new", "working", "disqualified"])
def test_a_lead_that_is_not_qualified_is_refused_and_nothing_is_written(client, tenant_a, headers, status):
    lead_id = _lead(client, headers, email="early@stage.example", company="Early", status=status)
    before = _counts(tenant_a)
    response = client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=headers)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert "Only qualified leads" in response.get_json()["detail"] and status in response.get_json()["detail"]
    assert _counts(tenant_a) == before
    assert client.get(f"/api/v1/leads/{lead_id}", headers=headers).get_json()["status"] == status


def test_converting_the_same_lead_twice_is_refused(client, tenant_a, headers):
    lead_id = _lead(client, headers, email="once@only.example")
    assert client.post(f"/api/v1/leads/{lead_id}/convert", json={}, headers=headers).status_code == 200
    before = _counts(tenant_a)
    again = client.post(f"/api/v1/leads/{lead_id}/convert", json={"deal": {}}, headers=headers)
    assert again.status_code == 409 and "converted already" in again.get_json()["detail"]
    assert _counts(tenant_a) == before
    # Nor can its status be moved back to qualified to convert it again.
    reopened = client.patch(f"/api/v1/leads/{lead_id}", json={"status": "qualified"}, headers=headers)
    assert reopened.status_code == 422 and "status" in reopened.get_json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"deal": {"amount": "-5"}}, "deal"),
        ({"deal": {"currency": "euro"}}, "deal"),
        ({"deal": {"name": "x" * 201}}, "deal"),
        ({"deal": "yes"}, "deal"),
        ({"deal": {}, "extra": 1}, "extra"),
    ],
)
def test_bad_conversion_input_is_refused_and_the_lead_stays_qualified(client, tenant_a, headers, body, field):
    lead_id = _lead(client, headers, email="bad@input.example", company="Bad Input")
    before = _counts(tenant_a)
    response = client.post(f"/api/v1/leads/{lead_id}/convert", json=body, headers=headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert _counts(tenant_a) == before
    assert client.get(f"/api/v1/leads/{lead_id}", headers=headers).get_json()["status"] == "qualified"


def test_a_failure_after_the_contact_was_made_rolls_everything_back(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:  # no pipeline: the deal step fails last
        session.execute(delete(Stage))
        session.execute(delete(Pipeline))
    lead_id = _lead(client, headers, email="late@failure.example", company="Late Failure")
    before = _counts(tenant_a)
    response = client.post(f"/api/v1/leads/{lead_id}/convert", json={"deal": {}}, headers=headers)
    assert response.status_code == 409 and "pipeline" in response.get_json()["detail"]
    assert _counts(tenant_a) == before
    assert client.get(f"/api/v1/leads/{lead_id}", headers=headers).get_json()["status"] == "qualified"


def test_converting_through_the_page(client, tenant_a, headers):
    qualified = _lead(client, headers, email="page@convert.example", company="Page Co")
    fresh = _lead(client, headers, email="new@convert.example", status="new")
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    detail = client.get(f"{base}/leads/{qualified}")
    token = csrf_token_from(detail.text)
    bad = client.post(
        f"{base}/leads/{qualified}/convert",
        data={"csrf_token": token, "create_deal": "1", "deal_amount": "-1", "deal_currency": "EUR"},
    )
    assert bad.status_code == 422 and 'id="deal_amount-error"' in bad.text
    refused = client.post(f"{base}/leads/{fresh}/convert", data={"csrf_token": token})
    assert refused.status_code == 409 and "Only qualified leads" in refused.text
    assert client.post(f"{base}/leads/{qualified}/convert", data={}).status_code == 400  # no CSRF token
    done = client.post(
        f"{base}/leads/{qualified}/convert",
        data={"csrf_token": token, "create_deal": "1", "deal_name": "Page deal", "deal_amount": "100",
              "deal_currency": "EUR"},
    )  # fmt: skip
    assert done.status_code == 302 and "/contacts/" in done.headers["Location"]
    assert "Lead converted" in client.get(done.headers["Location"]).text
    page = client.get(f"{base}/leads/{qualified}").text
    assert "Converted on" in page and "Page Co" in page and "Page deal" in page
