"""Duplicate detection and merging of contacts, accounts and leads: flags in the API and on pages, every
related record moved to the survivor, chosen values kept, the stricter consent taken, all or nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.activities import activities
from saas.modules.core.merge import CONTACT_KIND, merge_records
from saas.modules.core.models import Activity, Contact
from saas.modules.privacy import consent
from saas.modules.privacy.models import ConsentEvent, PrivacyRequest
from saas.modules.privacy.requests import open_request
from saas.modules.registry import Module, registry
from saas.modules.sfa.conversion import convert_lead
from saas.modules.sfa.deals import deals
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Deal, DealContact, Lead, Task
from saas.modules.sfa.tasks import tasks
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def headers(tenant_a):
    return bearer(make_token(tenant_a))


def _post(client, headers, path, body):
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _reasons(record: dict) -> dict[str, list[str]]:
    return {d["id"]: d["reasons"] for d in record["possible_duplicates"]}


def test_contacts_with_same_email_phone_or_similar_name_at_one_company_are_flagged(client, headers):
    account = _post(client, headers, "accounts", {"name": "Initech"})
    first = _post(
        client, headers, "contacts",
        {"first_name": "Robert", "last_name": "Smith", "email": "rob@initech.example",
         "phone": "+49 (30) 123-4567", "account_id": account["id"]},
    )  # fmt: skip
    assert first["possible_duplicates"] == []
    same_email = _post(client, headers, "contacts", {"last_name": "Other", "email": "ROB@Initech.example"})
    same_phone = _post(client, headers, "contacts", {"last_name": "Else", "phone": "+49 30 1234567"})
    same_company = _post(
        client, headers, "contacts", {"first_name": "Rob", "last_name": "SMITH", "account_id": account["id"]}
    )
    same_domain = _post(
        client,
        headers,
        "contacts",
        {"first_name": "Robby", "last_name": "Smith", "email": "r@initech.example"},
    )
    assert _reasons(same_email) == {first["id"]: ["same email"]}
    assert _reasons(same_phone) == {first["id"]: ["same phone"]}
    assert _reasons(same_company) == {first["id"]: ["similar name, same company"]}
    assert first["id"] in _reasons(same_domain)
    assert "similar name, same email domain" in _reasons(same_domain)[first["id"]]
    # Free-mail domains and other names are no signal (nor is a short number, refused when written).
    _post(client, headers, "contacts", {"first_name": "Jane", "last_name": "Doe", "email": "jane@gmail.com"})
    other = _post(
        client, headers, "contacts",
        {"first_name": "Janet", "last_name": "Doe", "email": "janet@gmail.com"},
    )  # fmt: skip
    assert other["possible_duplicates"] == []
    # The flag is shown on reads and edits too, and never in lists (one query per page, not per row).
    read = client.get(f"/api/v1/contacts/{first['id']}", headers=headers).get_json()
    assert set(_reasons(read)) == {same_email["id"], same_phone["id"], same_company["id"], same_domain["id"]}
    edited = client.patch(f"/api/v1/contacts/{same_phone['id']}", json={"phone": None}, headers=headers)
    assert edited.get_json()["possible_duplicates"] == []
    listed = client.get("/api/v1/contacts", headers=headers).get_json()["data"]
    assert all("possible_duplicates" not in row for row in listed)


def test_accounts_with_same_domain_phone_or_name_and_leads_are_flagged(client, headers):
    acme = _post(
        client, headers, "accounts", {"name": "ACME Inc.", "domain": "https://www.acme.example/about"}
    )
    by_domain = _post(client, headers, "accounts", {"name": "Road Runner Traps", "domain": "acme.example"})
    by_name = _post(client, headers, "accounts", {"name": "Acme"})
    assert _reasons(by_domain) == {acme["id"]: ["same web domain"]}
    assert _reasons(by_name) == {acme["id"]: ["same name"]}
    lead = _post(
        client, headers, "leads", {"first_name": "Ann", "last_name": "Lee", "company": "Globex GmbH"}
    )
    twin = _post(client, headers, "leads", {"first_name": "Anne", "last_name": "Lee", "company": "globex"})
    assert _reasons(twin) == {lead["id"]: ["similar name, same company"]}


@pytest.fixture
def pair(tenant_a):
    """Two contacts of one person, with everything that can hang on a contact."""
    with tenant_session(tenant_a.ref) as session:
        acme = services.accounts.create(session, {"name": "Acme"})
        keep = services.contacts.create(
            session,
            {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example", "account_id": acme.id},
        )
        dupe = services.contacts.create(
            session,
            {
                "first_name": "Anne",
                "last_name": "Lee",
                "email": "anne.lee@acme.example",
                "phone": "+1 212 555 0100",
            },
        )
        shared = deals.create(session, {"name": "Shared deal", "contact_ids": [keep.id, dupe.id]})
        own = deals.create(session, {"name": "Dupe's deal", "amount": Decimal("5"), "contact_ids": [dupe.id]})
        tasks.create(session, {"title": "Call Anne", "contact_id": dupe.id})
        activities.create(session, {"kind": "note", "subject": "Met Anne", "contact_id": dupe.id})
        lead = leads.create(session, {"first_name": "Anne", "last_name": "Lee", "status": "qualified"})
        convert_lead(session, lead.id, deal=None)
        session.get(Lead, lead.id).converted_contact_id = dupe.id
        staff = consent.ConsentContext(source="staff", actor="test")
        # email: granted on the survivor, withdrawn on the duplicate -> withdrawn wins
        consent.record_consent(session, keep.id, "email_marketing", "granted", staff, confirmed=True)
        consent.record_consent(session, dupe.id, "email_marketing", "granted", staff, confirmed=True)
        consent.record_consent(session, dupe.id, "email_marketing", "withdrawn", staff)
        # profiling: withdrawn on the survivor, granted on the duplicate -> still withdrawn
        consent.record_consent(session, keep.id, "profiling", "withdrawn", staff)
        consent.record_consent(session, dupe.id, "profiling", "granted", staff)
        # sms: only the duplicate was asked -> its grant carries over
        consent.record_consent(session, dupe.id, "sms_marketing", "granted", staff)
        open_request(
            session,
            kind="access",
            contact_id=dupe.id,
            channel="staff",
            actor="test",
            verification_method=None,
        )
        return {"keep": keep.id, "dupe": dupe.id, "shared": shared.id, "own": own.id, "account": acme.id}


def _ledger(session, contact_id):
    return [
        (e.id, e.status, e.purpose.key)
        for e in session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)
        )
    ]


def test_merge_moves_every_related_record_keeps_chosen_values_and_takes_the_stricter_consent(
    client, tenant_a, headers, pair
):
    keep, dupe = pair["keep"], pair["dupe"]
    with tenant_session(tenant_a.ref) as session:
        keep_ledger_before = _ledger(session, keep)
        dupe_events = len(_ledger(session, dupe))
    response = client.post(
        f"/api/v1/contacts/{keep}/merge",
        json={"merge_id": str(dupe), "fields": {"email": "other", "first_name": "this"}},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    survivor = body["data"]
    # Chosen: the other's email; kept: this first name; filled: the phone only the other had.
    assert (survivor["first_name"], survivor["email"], survivor["phone"]) == (
        "Ann", "anne.lee@acme.example", "+12125550100"
    )  # fmt: skip
    assert survivor["account_id"] == str(pair["account"])
    assert body["merged_id"] == str(dupe)
    assert body["moved"]["deal_contacts"] == 1 and body["moved"]["tasks"] == 1
    assert body["moved"]["privacy_requests"] == 1 and body["moved"]["leads"] == 1
    assert client.get(f"/api/v1/contacts/{dupe}", headers=headers).status_code == 404
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, dupe) is None
        links = session.scalars(select(DealContact).where(DealContact.contact_id == keep)).all()
        assert {link.deal_id for link in links} == {pair["shared"], pair["own"]}
        assert session.scalar(select(Task.contact_id).where(Task.title == "Call Anne")) == keep
        assert session.scalar(select(Lead.converted_contact_id)) == keep
        assert session.scalar(select(PrivacyRequest.contact_id)) == keep
        notes = session.scalars(select(Activity.subject).where(Activity.contact_id == keep)).all()
        assert "Met Anne" in notes and "Merged Anne Lee into this contact" in notes
        state = {
            key: event.status if event else None
            for key, event in consent.consent_state(session, keep).items()
        }
        assert state == {
            "email_marketing": "withdrawn", "profiling": "withdrawn", "sms_marketing": "granted",
            "third_party_sharing": None, "website_analytics": None,
        }  # fmt: skip
        assert not consent.may_contact(session, keep, "email_marketing")
        # Append-only: the survivor's own events are untouched, the other's are copied, one restated.
        ledger = _ledger(session, keep)
        assert ledger[: len(keep_ledger_before)] == keep_ledger_before
        assert len(ledger) == len(keep_ledger_before) + dupe_events + 1
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "core.records_merged", AuditEntry.tenant_id == tenant_a.tenant.id
        )
    )
    assert entry is not None and entry.target == f"contact:{keep}" and entry.details["merged"] == str(dupe)
    assert entry.details["fields_taken"] == ["email", "phone"]
    assert "ann" not in str(entry.details).lower()  # identifiers only, no personal data


def test_a_failure_midway_through_a_merge_changes_nothing(tenant_a, pair, monkeypatch):
    """A module whose hook fails after core, privacy and sales moved their rows: everything goes back."""

    def failing_hook(session, kind, survivor_id, other_id):
        raise RuntimeError("disk full")

    modules = registry._discover()
    monkeypatch.setitem(
        modules,
        "zz_failing",
        Module(
            key="zz_failing", title="Failing", models="saas.modules.core.models", merge_records=failing_hook
        ),
    )
    keep, dupe = pair["keep"], pair["dupe"]
    with tenant_session(tenant_a.ref) as session:
        before = {c: _ledger(session, c) for c in (keep, dupe)}
        with pytest.raises(RuntimeError):
            merge_records(session, CONTACT_KIND, keep, dupe, {"email": "other"})
        # The savepoint rolled back; the session goes on and commits what it had before.
        assert session.get(Contact, dupe) is not None
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, dupe).email == "anne.lee@acme.example"
        assert session.get(Contact, keep).email == "ann@acme.example"
        assert {c: _ledger(session, c) for c in (keep, dupe)} == before
        assert session.scalar(select(Task.contact_id).where(Task.title == "Call Anne")) == dupe
        assert (
            session.scalar(
                select(func.count()).select_from(DealContact).where(DealContact.contact_id == dupe)
            )
            == 2
        )
        assert session.scalar(select(PrivacyRequest.contact_id)) == dupe
        assert not session.scalars(select(Activity).where(Activity.subject.like("Merged%"))).all()


def test_bad_merge_requests_get_4xx_and_write_nothing(client, tenant_a, headers, pair):
    keep, dupe = pair["keep"], pair["dupe"]
    url = f"/api/v1/contacts/{keep}/merge"
    with tenant_session(tenant_a.ref) as session:
        contacts_before = session.scalar(select(func.count()).select_from(Contact))
    cases = [
        ({"merge_id": str(keep)}, 422),
        ({"merge_id": str(uuid.uuid4())}, 404),
        ({"merge_id": str(dupe), "fields": {"shoe_size": "other"}}, 422),
        ({"merge_id": str(dupe), "fields": {"email": "both"}}, 422),
        ({"merge_id": "not-a-uuid"}, 422),
        ({}, 422),
        ({"merge_id": str(dupe), "surprise": 1}, 422),
    ]
    for body, status in cases:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, dupe) is not None
        assert session.scalar(select(func.count()).select_from(Contact)) == contacts_before
    # A merge whose chosen values break the record's rules is refused as a whole.
    with tenant_session(tenant_a.ref) as session:
        session.get(Contact, keep).last_name = None
        session.get(Contact, dupe).first_name = None
        session.get(Contact, dupe).last_name = "Lee"
    refused = client.post(
        url,
        json={"merge_id": str(dupe), "fields": {"first_name": "other", "last_name": "this"}},
        headers=headers,
    )
    assert refused.status_code == 422, refused.get_json()
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Contact, dupe) is not None
        assert (
            session.scalar(
                select(func.count()).select_from(DealContact).where(DealContact.contact_id == dupe)
            )
            == 2
        )


def test_account_merge_moves_contacts_deals_and_tasks(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        keep = services.accounts.create(session, {"name": "Globex", "domain": "globex.example"})
        dupe = services.accounts.create(session, {"name": "Globex Corp", "industry": "Energy"})
        services.contacts.create(session, {"last_name": "Hank", "account_id": dupe.id})
        deals.create(session, {"name": "Globex deal", "account_id": dupe.id})
        tasks.create(session, {"title": "Visit", "account_id": dupe.id})
        keep_id, dupe_id = keep.id, dupe.id
    response = client.post(
        f"/api/v1/accounts/{keep_id}/merge", json={"merge_id": str(dupe_id)}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["industry"] == "Energy"  # empty here: filled from the other
    with tenant_session(tenant_a.ref) as session:
        assert session.scalar(select(Contact.account_id).where(Contact.last_name == "Hank")) == keep_id
        assert session.scalar(select(Deal.account_id)) == keep_id
        assert session.scalar(select(Task.account_id).where(Task.title == "Visit")) == keep_id
        subjects = session.scalars(select(Activity.subject).where(Activity.account_id == keep_id)).all()
        assert "Merged Globex Corp into this account" in subjects and "Deal opened: Globex deal" in subjects


def test_lead_merge_moves_tasks_and_a_converted_lead_must_survive(client, tenant_a, headers):
    with tenant_session(tenant_a.ref) as session:
        keep = leads.create(session, {"first_name": "Sam", "last_name": "Hill", "status": "qualified"})
        dupe = leads.create(session, {"first_name": "Sam", "last_name": "Hill", "source": "fair"})
        task = tasks.create(session, {"title": "Follow up"})
        task.lead_id = dupe.id
        convert_lead(session, keep.id, deal=None)
        keep_id, dupe_id = keep.id, dupe.id
    refused = client.post(f"/api/v1/leads/{dupe_id}/merge", json={"merge_id": str(keep_id)}, headers=headers)
    assert refused.status_code == 409
    response = client.post(f"/api/v1/leads/{keep_id}/merge", json={"merge_id": str(dupe_id)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["source"] == "fair" and response.get_json()["moved"]["tasks"] == 1
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Lead, dupe_id) is None
        assert session.scalar(select(Task.lead_id).where(Task.title == "Follow up")) == keep_id


def test_merge_screen_shows_both_records_and_merges_with_the_picked_values(client, tenant_a, pair):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}/contacts"
    keep, dupe = pair["keep"], pair["dupe"]
    detail = client.get(f"{base}/{keep}").text
    assert "Possible duplicates" in detail and f"/contacts/{keep}/merge?with={dupe}" in detail
    screen = client.get(f"{base}/{keep}/merge?with={dupe}")
    assert screen.status_code == 200
    assert "ann@acme.example" in screen.text and "anne.lee@acme.example" in screen.text
    token = csrf_token_from(screen.text)
    no_csrf = client.post(f"{base}/{keep}/merge", data={"other_id": str(dupe)})
    assert no_csrf.status_code == 400
    merged = client.post(
        f"{base}/{keep}/merge",
        data={
            "csrf_token": token,
            "other_id": str(dupe),
            "field_email": "other",
            "field_first_name": "other",
        },
    )
    assert merged.status_code == 302 and merged.location.endswith(f"/contacts/{keep}")
    with tenant_session(tenant_a.ref) as session:
        survivor = session.get(Contact, keep)
        assert (survivor.first_name, survivor.email) == ("Anne", "anne.lee@acme.example")
        assert session.get(Contact, dupe) is None
    page = client.get(f"{base}/{keep}").text
    assert "Possible duplicates" not in page and "Merged Anne Lee into this contact" in page
    gone = client.get(f"{base}/{keep}/merge?with={dupe}")
    assert gone.status_code == 404
    bad = client.get(f"{base}/{keep}/merge?with=nonsense")
    assert bad.status_code == 404


def test_merge_keeps_custom_field_values_by_choice_or_fills_the_survivors_gaps(client, tenant_a, headers):
    from saas.modules.core import custom_fields

    with tenant_session(tenant_a.ref) as session:
        for key, kind in (("tier", "text"), ("size", "number")):
            custom_fields.define_field(session, "contacts", {"key": key, "label": key, "field_type": kind})
    db.session.commit()
    keep = _post(client, headers, "contacts", {"last_name": "Keep", "custom_fields": {"tier": "gold"}})
    dupe = _post(
        client, headers, "contacts", {"last_name": "Dupe", "custom_fields": {"tier": "tin", "size": 9}}
    )
    url = f"/api/v1/contacts/{keep['id']}/merge"
    unknown = client.post(url, json={"merge_id": dupe["id"], "fields": {"cf_nope": "other"}}, headers=headers)
    assert unknown.status_code == 422
    merged = client.post(url, json={"merge_id": dupe["id"], "fields": {"cf_tier": "this"}}, headers=headers)
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["data"]["custom_fields"] == {"tier": "gold", "size": "9"}
    third = _post(client, headers, "contacts", {"last_name": "Third", "custom_fields": {"tier": "silver"}})
    login(client, tenant_a.email, tenant_a.password)
    screen = client.get(f"/t/{tenant_a.slug}/contacts/{keep['id']}/merge?with={third['id']}")
    assert screen.status_code == 200 and "silver" in screen.text and 'name="field_cf_tier"' in screen.text
    posted = client.post(
        f"/t/{tenant_a.slug}/contacts/{keep['id']}/merge",
        data={"csrf_token": csrf_token_from(screen.text), "other_id": third["id"], "field_cf_tier": "other"},
    )
    assert posted.status_code == 302
    assert (
        client.get(f"/api/v1/contacts/{keep['id']}", headers=headers).get_json()["custom_fields"]["tier"]
        == "silver"
    )
