"""The consent ledger: append-only events, state at any past time, the marketing gate, the API."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.privacy import consent
from saas.modules.privacy.consent import ConsentContext, record_consent
from tests.conftest import bearer, make_token
from tests.privacy.conftest import add_contact

STAFF = ConsentContext(source="staff", actor="user:test")


def test_new_tenant_has_the_default_purposes_with_notice_version_1(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        purposes = consent.list_purposes(session)
        assert [p.key for p in purposes] == [
            "email_marketing",
            "profiling",
            "sms_marketing",
            "third_party_sharing",
            "website_analytics",  # seeded by the website module (saas/modules/website/consent.py)
        ]
        assert all(consent.current_notice(session, p).version == 1 for p in purposes)


def test_consent_history_reconstructs_the_state_at_any_past_time(tenant_a):
    contact_id = uuid.UUID(add_contact(tenant_a, last_name="Ledger", email="ledger@example.com"))
    with tenant_session(tenant_a.ref) as session:
        granted = record_consent(session, contact_id, "email_marketing", "granted", STAFF)
        consent.revise_notice(session, "email_marketing", "New wording of the email notice.")
        withdrawn = record_consent(session, contact_id, "email_marketing", "withdrawn", STAFF)
        pending = record_consent(
            session, contact_id, "sms_marketing", "pending", STAFF, lawful_basis="consent"
        )

    with tenant_session(tenant_a.ref) as session:
        before = consent.consent_state(
            session, contact_id, at=granted.occurred_at - timedelta(microseconds=1)
        )
        at_grant = consent.consent_state(session, contact_id, at=granted.occurred_at)
        at_withdrawal = consent.consent_state(session, contact_id, at=withdrawn.occurred_at)
        now = consent.consent_state(session, contact_id)
        history = consent.consent_history(session, contact_id)

    assert before["email_marketing"] is None
    assert at_grant["email_marketing"].status == "granted" and at_grant["sms_marketing"] is None
    assert at_withdrawal["email_marketing"].status == "withdrawn"
    assert now["sms_marketing"].status == "pending" and now["profiling"] is None
    # Each event keeps the exact notice version shown at the time.
    assert [(e.id, e.notice.version) for e in history] == [
        (granted.id, 1),
        (withdrawn.id, 2),
        (pending.id, 1),
    ]


def test_may_contact_refuses_withdrawn_pending_and_missing_consent(tenant_a):
    contact_id = uuid.UUID(add_contact(tenant_a, last_name="Gate", email="gate@example.com"))
    with tenant_session(tenant_a.ref) as session:
        record_consent(session, contact_id, "email_marketing", "granted", STAFF)
        record_consent(session, contact_id, "sms_marketing", "granted", STAFF)
        record_consent(session, contact_id, "sms_marketing", "withdrawn", STAFF)
        record_consent(session, contact_id, "profiling", "pending", STAFF)
        assert consent.may_contact(session, contact_id, "email_marketing") is True
        assert consent.may_contact(session, contact_id, "sms_marketing") is False
        assert consent.may_contact(session, contact_id, "profiling") is False
        assert consent.may_contact(session, contact_id, "third_party_sharing") is False
        assert consent.may_contact(session, uuid.uuid4(), "email_marketing") is False


def test_batch_gate_answers_as_may_contact_for_each_contact(tenant_a):
    states = {"granted": True, "withdrawn": False, "pending": False, "regranted": True, "missing": False}
    ids = {
        name: uuid.UUID(add_contact(tenant_a, last_name=name, email=f"{name}@example.com")) for name in states
    }
    with tenant_session(tenant_a.ref) as session:
        for name, events in (("granted", ["granted"]), ("withdrawn", ["granted", "withdrawn"]),
                             ("pending", ["pending"]), ("regranted", ["withdrawn", "granted"])):  # fmt: skip
            for status in events:
                record_consent(session, ids[name], "email_marketing", status, STAFF)
        record_consent(session, ids["missing"], "sms_marketing", "granted", STAFF)  # another purpose
        allowed = consent.contactable(session, list(ids.values()), "email_marketing")
        assert allowed == {ids[name] for name, ok in states.items() if ok}
        for name, contact_id in ids.items():
            assert consent.may_contact(session, contact_id, "email_marketing") is states[name]
        assert consent.contactable(session, [], "email_marketing") == set()


def test_api_appends_consent_events_and_lists_state_and_history(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Api", email="api-consent@example.com")
    headers = bearer(make_token(tenant_a))
    created = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "granted", "lawful_basis": "consent"},
        headers=headers,
    )
    assert created.status_code == 201, created.json
    assert created.json["source"] == "api" and created.json["notice_version"] == 1

    listed = client.get(f"/api/v1/contacts/{contact_id}/consents", headers=headers).json
    assert listed["state"]["email_marketing"] == "granted" and listed["state"]["profiling"] is None
    assert [e["status"] for e in listed["history"]] == ["granted"]
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id,
            AuditEntry.action == "privacy.consent.recorded",
            AuditEntry.target == contact_id,
        )
    )


def test_api_refuses_bad_consent_input_with_a_problem(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Bad", email="bad-consent@example.com")
    headers = bearer(make_token(tenant_a))
    bad_status = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "email_marketing", "status": "maybe"},
        headers=headers,
    )
    unknown_purpose = client.post(
        f"/api/v1/contacts/{contact_id}/consents",
        json={"purpose": "telepathy", "status": "granted"},
        headers=headers,
    )
    unknown_contact = client.get(f"/api/v1/contacts/{uuid.uuid4()}/consents", headers=headers)
    assert bad_status.status_code == 422 and bad_status.mimetype == "application/problem+json"
    assert unknown_purpose.status_code == 422 and "telepathy" in unknown_purpose.json["detail"]
    assert unknown_contact.status_code == 404
