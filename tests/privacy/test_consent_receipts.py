"""Consent receipts and the state at a past date, on the staff pages and in the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from saas.audit import AuditEntry
from saas.auth.models import User
from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.privacy import consent
from saas.modules.privacy.consent import ConsentContext, record_consent
from saas.modules.privacy.models import ConsentEvent
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.privacy.conftest import add_contact

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) ReceiptTest/1.0"


def _owner_actor(fixture) -> str:
    return f"user:{db.session.scalar(select(User.id).where(User.email == fixture.email))}"


def _backdate(fixture, event_id: int, days: int) -> None:
    """Move one ledger event into the past: the ledger stamps events with the database's clock."""
    with tenant_session(fixture.ref) as session:
        session.execute(
            update(ConsentEvent)
            .where(ConsentEvent.id == event_id)
            .values(occurred_at=datetime.now(UTC) - timedelta(days=days))
        )


@pytest.fixture
def granted_then_withdrawn(tenant_a):
    """A contact who granted email marketing 10 days ago (form, notice v1) and withdrew 3 days ago
    through the staff page (notice v2), with the browser and address of each."""
    contact_id = add_contact(tenant_a, first_name="Rita", last_name="Receipt", email="rita@example.com")
    with tenant_session(tenant_a.ref) as session:
        grant = record_consent(
            session, uuid.UUID(contact_id), "email_marketing", "granted",
            ConsentContext(source="privacy_center", actor="subject", ip="203.0.113.7", user_agent=BROWSER),
        )  # fmt: skip
        consent.revise_notice(session, "email_marketing", "Second wording: news by email, monthly.")
        grant_id = grant.id
    _backdate(tenant_a, grant_id, days=10)
    return contact_id, grant_id


def _withdraw_on_staff_page(client, fixture, contact_id: str) -> None:
    page = client.get(f"/t/{fixture.slug}/privacy/contacts/{contact_id}/consents")
    posted = client.post(
        f"/t/{fixture.slug}/privacy/contacts/{contact_id}/consents",
        data={"csrf_token": csrf_token_from(page.text), "purpose": "email_marketing", "status": "withdrawn"},
        headers={"User-Agent": "StaffBrowser/2.0"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert posted.status_code == 302


def test_receipt_shows_each_notice_text_version_time_source_address_browser_and_actor(
    client, tenant_a, granted_then_withdrawn
):
    contact_id, grant_id = granted_then_withdrawn
    login(client, tenant_a.email, tenant_a.password)
    _withdraw_on_staff_page(client, tenant_a, contact_id)

    receipt = client.get(f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents/email_marketing/receipt")

    assert receipt.status_code == 200
    text = receipt.text
    assert "Rita Receipt" in text and "rita@example.com" in text and "Email marketing" in text
    # The grant: the first notice's text, version 1, the privacy center, the person's address and browser.
    first, second = text.split(f"#{grant_id}")[0], text.split(f"#{grant_id}")[1]
    assert "We may send you news and offers by email." in first and "Notice version</dt><dd>1<" in first
    assert "203.0.113.7" in first and BROWSER in first and "privacy center" in first
    # The withdrawal: the revised notice, version 2, staff, the staff member's address, browser and email.
    assert "Second wording: news by email, monthly." in second and "Notice version</dt><dd>2<" in second
    assert "198.51.100.9" in second and "StaffBrowser/2.0" in second and tenant_a.email in second
    assert "withdrawn since" in text
    assert 'href="/static/app.css' in text and "<script>" not in text  # printable as it is
    css = client.get("/static/app.css").text
    assert "@media print" in css and ".topbar" in css.split("@media print")[1]
    # Handing out a person's address and browser is in the audit log, without them.
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action == "privacy.consent.receipt_viewed"
        )
    )
    assert entry.target == contact_id and entry.details == {"purpose": "email_marketing"}
    assert entry.actor == _owner_actor(tenant_a)


def test_consents_page_shows_address_and_browser_and_links_each_receipt(
    client, tenant_a, granted_then_withdrawn
):
    contact_id, _ = granted_then_withdrawn
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents")
    assert "203.0.113.7" in page.text and BROWSER in page.text
    for purpose in ("email_marketing", "sms_marketing", "profiling", "third_party_sharing"):
        assert f"/privacy/contacts/{contact_id}/consents/{purpose}/receipt" in page.text


def test_consents_page_shows_the_state_as_of_a_date_before_and_after_a_withdrawal(
    client, tenant_a, granted_then_withdrawn
):
    contact_id, _ = granted_then_withdrawn
    login(client, tenant_a.email, tenant_a.password)
    _withdraw_on_staff_page(client, tenant_a, contact_id)
    with tenant_session(tenant_a.ref) as session:
        withdrawal = consent.consent_state(session, uuid.UUID(contact_id))["email_marketing"]
    _backdate(tenant_a, withdrawal.id, days=3)
    base = f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents"

    def email_marketing_on(as_of: datetime | None) -> str:
        page = client.get(base, query_string={"as_of": as_of.date().isoformat()} if as_of else {})
        assert page.status_code == 200
        row = page.text.split("<td>Email marketing</td>")[1]
        return row.split("<td>")[1].split("</td>")[0]

    now = datetime.now(UTC)
    assert email_marketing_on(now - timedelta(days=20)) == "not asked"
    assert email_marketing_on(now - timedelta(days=6)) == "granted"
    assert email_marketing_on(now - timedelta(days=1)) == "withdrawn"
    assert email_marketing_on(None) == "withdrawn"


def test_consents_page_answers_a_bad_date_with_a_form_message(client, tenant_a, granted_then_withdrawn):
    contact_id, _ = granted_then_withdrawn
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents?as_of=2024-13-45")
    assert page.status_code == 422
    assert "is not a date" in page.text and 'aria-invalid="true"' in page.text
    assert "<td>granted</td>" in page.text  # the state now, said so under the message


def test_a_member_reads_receipts_like_the_consents_page(client, tenant_a, granted_then_withdrawn):
    contact_id, _ = granted_then_withdrawn
    email = f"member-{tenant_a.slug}@example.com"
    add_member(db.session, tenant_a.tenant.id, email, PASSWORD, "member", actor="test")
    db.session.commit()
    login(client, email, PASSWORD)
    base = f"/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}/email_marketing/receipt").status_code == 200
    assert client.get(f"{base}/telepathy/receipt").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/privacy/requests").status_code == 403


def test_api_history_has_address_browser_and_actor_and_state_as_of(client, tenant_a, granted_then_withdrawn):
    contact_id, grant_id = granted_then_withdrawn
    headers = bearer(make_token(tenant_a))
    withdrawn = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "withdrawn"},
        headers={**headers, "User-Agent": "ErpSync/3.1"},
    )
    assert withdrawn.status_code == 201 and withdrawn.json["user_agent"] == "ErpSync/3.1"
    _backdate(tenant_a, withdrawn.json["id"], days=3)
    path = f"/api/v1/contacts/{contact_id}/consents"

    now = client.get(path, headers=headers).json
    [grant, withdrawal] = now["history"]
    assert (grant["id"], grant["ip"], grant["user_agent"], grant["actor"]) == (
        grant_id, "203.0.113.7", BROWSER, "subject",
    )  # fmt: skip
    assert withdrawal["actor"] == _owner_actor(tenant_a) and withdrawal["ip"] == "127.0.0.1"
    assert now["state"]["email_marketing"] == "withdrawn" and now["as_of"] is None

    day = (datetime.now(UTC) - timedelta(days=6)).date().isoformat()
    before = client.get(path, query_string={"as_of": day}, headers=headers).json
    assert before["state"]["email_marketing"] == "granted" and before["as_of"].startswith(day)
    moment = client.get(path, query_string={"as_of": grant["occurred_at"]}, headers=headers).json
    assert moment["state"]["email_marketing"] == "granted"
    long_ago = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    assert client.get(path, query_string={"as_of": long_ago}, headers=headers).json["state"] == {
        "email_marketing": None, "profiling": None, "sms_marketing": None, "third_party_sharing": None,
        "website_analytics": None,  # the website module's purpose
    }  # fmt: skip


def test_api_receipt_has_every_event_with_its_notice_text(client, tenant_a, granted_then_withdrawn):
    contact_id, grant_id = granted_then_withdrawn
    headers = bearer(make_token(tenant_a))
    client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "withdrawn"},
        headers=headers,
    )
    receipt = client.get(f"/api/v1/contacts/{contact_id}/consents/email_marketing/receipt", headers=headers)
    assert receipt.status_code == 200
    body = receipt.json
    assert (body["contact_id"], body["purpose"], body["status"]) == (
        contact_id,
        "email_marketing",
        "withdrawn",
    )
    assert [(e["id"] == grant_id, e["notice_version"], e["notice_text"]) for e in body["events"]] == [
        (True, 1, consent.DEFAULT_PURPOSES[0][2]),
        (False, 2, "Second wording: news by email, monthly."),
    ]
    assert body["events"][0]["ip"] == "203.0.113.7"
    never = client.get(f"/api/v1/contacts/{contact_id}/consents/profiling/receipt", headers=headers).json
    assert never["status"] is None and never["events"] == []
    unknown = client.get(f"/api/v1/contacts/{contact_id}/consents/telepathy/receipt", headers=headers)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"


@pytest.mark.parametrize("bad", ["2024-13-45", "yesterday", "31/05/2024", "2024-05-31T25:00"])
def test_api_refuses_a_bad_as_of_date_with_a_422_problem(client, tenant_a, bad):
    contact_id = add_contact(tenant_a, last_name="Dated", email="dated@example.com")
    answer = client.get(
        f"/api/v1/contacts/{contact_id}/consents",
        query_string={"as_of": bad},
        headers=bearer(make_token(tenant_a)),
    )
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert "as_of" in answer.json["errors"]


def test_tenant_b_cannot_read_tenant_a_receipts_or_past_state(
    client, tenant_a, tenant_b, granted_then_withdrawn
):
    contact_id, _ = granted_then_withdrawn
    headers_b = bearer(make_token(tenant_b))
    for path in (
        f"/api/v1/contacts/{contact_id}/consents/email_marketing/receipt",
        f"/api/v1/contacts/{contact_id}/consents?as_of=2024-05-31",
    ):
        answer = client.get(path, headers=headers_b)
        assert answer.status_code == 404 and "203.0.113.7" not in answer.text
    login(client, tenant_b.email, tenant_b.password)
    for slug in (tenant_b.slug, tenant_a.slug):
        base = f"/t/{slug}/privacy/contacts/{contact_id}/consents"
        for path in (f"{base}/email_marketing/receipt", f"{base}?as_of=2024-05-31"):
            answer = client.get(path)
            assert answer.status_code == 404 and "203.0.113.7" not in answer.text
    assert not db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "privacy.consent.receipt_viewed", AuditEntry.target == contact_id
        )
    )


def test_the_contact_page_links_to_the_contacts_consents(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Linked", email="linked@example.com")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    assert (
        f'href="/t/{tenant_a.slug}/privacy/contacts/{contact_id}/consents">Consents and receipts' in page.text
    )
