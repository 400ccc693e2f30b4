"""Erasure: the person leaves every tenant table, others stay, the email cannot come back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from saas.audit import AuditEntry
from saas.db import TenantBase, db, tenant_pools, tenant_session
from saas.errors import ValidationError
from saas.jobs import make_worker
from saas.modules.core import services
from saas.modules.core.models import Activity, Contact, ImportJob, ImportRowError
from saas.modules.privacy import erasure, requests
from saas.modules.privacy.consent import ConsentContext, record_consent
from saas.modules.privacy.models import PrivacyRequest
from saas.modules.sfa.models import Deal, DealContact, Lead, Pipeline, Task
from tests.conftest import bearer, csrf_token_from, login, make_token

EMAIL, NAME, PHONE = "evangelina.targetova@example.com", "Targetova", "+44 20 7946 0958"


def _person_everywhere(fixture) -> tuple[uuid.UUID, uuid.UUID]:
    """The person to erase in every module, plus someone who must stay."""
    with tenant_session(fixture.ref) as session:
        person = services.contacts.create(
            session,
            {"first_name": "Evangelina", "last_name": NAME, "email": EMAIL, "phone": PHONE, "notes": "vip"},
        )
        other = services.contacts.create(
            session, {"first_name": "Otto", "last_name": "Stays", "email": "otto@x.io"}
        )
        duplicate = services.contacts.create(session, {"last_name": NAME, "email": EMAIL.upper()})
        pipeline = session.scalar(select(Pipeline))
        deal = Deal(name="Renewal 2027", pipeline_id=pipeline.id, stage_id=pipeline.stages[0].id)
        session.add(deal)
        session.flush()
        session.add_all([
            DealContact(deal_id=deal.id, contact_id=person.id, role="buyer"),
            DealContact(deal_id=deal.id, contact_id=other.id, role="payer"),
            Lead(last_name=NAME, email=EMAIL, phone=PHONE, converted_contact_id=person.id),
            Task(title=f"Call {NAME}", contact_id=person.id),
            Activity(kind="call", subject=f"Call with {NAME}", body=PHONE, contact_id=person.id),
            Activity(kind="note", subject="Otto's note", contact_id=other.id),
        ])  # fmt: skip
        upload = f"last_name,email,phone\nStays,otto@x.io,1\n{NAME},{EMAIL},{PHONE}\n".encode()
        job = ImportJob(entity="contacts", filename="people.csv", content=upload, mapping={})
        session.add(job)
        session.flush()
        session.add_all([
            ImportRowError(job_id=job.id, row_number=2, reason="dup", raw={"email": EMAIL, "name": NAME}),
            ImportRowError(job_id=job.id, row_number=1, reason="dup", raw={"email": "otto@x.io"}),
        ])  # fmt: skip
        for contact_id in (person.id, duplicate.id, other.id):
            record_consent(
                session, contact_id, "email_marketing", "granted", ConsentContext("staff", "user:x")
            )
        request = requests.open_request(
            session, kind="erasure", contact_id=person.id, channel="staff", actor="user:x",
            verification_method="identity_document", details=f"Please erase {NAME}, {PHONE}",
        )  # fmt: skip
        return request.id, other.id


def _tables_holding(fixture, needle: str) -> list[str]:
    """Every tenant table whose rows, as text, contain ``needle`` (case-insensitive), in a text column or in
    a binary one (uploads, kept API answers: their text form is hex), archived tables or not."""
    schema = fixture.tenant.schema_name
    with tenant_pools().engine_for(fixture.ref).connect() as connection:
        return [
            table.name
            for table in TenantBase.metadata.sorted_tables
            if connection.execute(
                text(
                    f'SELECT count(*) FROM "{schema}"."{table.name}" AS t WHERE t::text ILIKE :needle '
                    "OR t::text LIKE '%' || encode(convert_to(:exact, 'UTF8'), 'hex') || '%'"
                ),
                {"needle": f"%{needle}%", "exact": needle},
            ).scalar()
        ]


def test_erasure_removes_the_person_from_every_table_keeps_others_and_blocks_recreation(
    client, tenant_a, tenant_b
):
    request_id, other_id = _person_everywhere(tenant_a)
    _person_everywhere(tenant_b)  # the same person in another tenant is not touched
    # The API keeps the answer to a request sent with an Idempotency-Key for a day: it names the person.
    api = {**bearer(make_token(tenant_a)), "Idempotency-Key": "lead-from-the-website"}
    lead = client.post("/api/v1/leads", json={"last_name": NAME, "email": EMAIL, "phone": PHONE}, headers=api)
    assert lead.status_code == 201, lead.text
    assert _tables_holding(tenant_a, EMAIL) != []  # the scan finds the person before erasure

    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/requests/{request_id}")
    started = client.post(
        f"/t/{tenant_a.slug}/privacy/requests/{request_id}",
        data={"action": "erase", "csrf_token": csrf_token_from(page.text)},
    )
    assert started.status_code == 302
    make_worker().work(burst=True)

    for needle in (EMAIL, NAME, PHONE):
        assert _tables_holding(tenant_a, needle) == [], needle
    assert _tables_holding(tenant_b, EMAIL) != []
    with tenant_session(tenant_a.ref) as session:
        request = session.get(PrivacyRequest, request_id)
        assert request.status == "completed" and request.contact_id is None and request.details is None
        assert request.report["contacts"] == 2 and request.report["leads"] == 2
        assert request.report["api_answers"] == 1
        assert EMAIL not in str(request.report) and NAME not in str(request.report)
        assert [s.action for s in request.trail] == ["received", "verified", "erasure_queued", "erased"]
        assert session.get(Contact, other_id) is not None
        assert session.scalar(select(DealContact.role).where(DealContact.contact_id == other_id)) == "payer"
        assert (
            session.scalar(select(Activity.subject).where(Activity.contact_id == other_id)) == "Otto's note"
        )
        # Running the job again changes nothing and reports the same.
        assert erasure.run_erasure(session, str(request_id)) == request.report

    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError, match="asked to be erased"):
        services.contacts.create(session, {"last_name": "Again", "email": f"  {EMAIL.title()} "})
    refused = client.post(
        "/api/v1/contacts", json={"last_name": "Again", "email": EMAIL}, headers=bearer(make_token(tenant_a))
    )
    assert refused.status_code == 422 and "asked to be erased" in refused.json["detail"]
    # Tenant B's list is its own: the same email is still welcome there.
    with tenant_session(tenant_b.ref) as session:
        services.contacts.create(session, {"last_name": "Welcome", "email": EMAIL})

    actions = set(
        db.session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.target == str(request_id)
            )
        )
    )
    assert {"privacy.erasure.queued", "privacy.erasure.completed"} <= actions
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_a.tenant.id)).all()
    assert all(EMAIL not in str(e.details) and NAME not in str(e.details) for e in audited)


def test_erasure_needs_a_verified_erasure_request(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(
            session, {"last_name": "Unverified", "email": "unverified@example.com"}
        )
        request = requests.open_request(
            session,
            kind="erasure",
            contact_id=contact.id,
            channel="staff",
            actor="user:x",
            verification_method=None,
        )
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/requests/{request.id}")
    client.post(
        f"/t/{tenant_a.slug}/privacy/requests/{request.id}",
        data={"action": "erase", "csrf_token": csrf_token_from(page.text)},
    )
    make_worker().work(burst=True)
    with tenant_session(tenant_a.ref) as session:
        assert session.get(PrivacyRequest, request.id).status == "received"
        assert session.get(Contact, contact.id) is not None


def test_staff_may_record_an_erased_person_again_only_with_a_lawful_reason(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(
            session, {"last_name": "Returner", "email": "returner@example.com"}
        )
        request = requests.open_request(
            session,
            kind="erasure",
            contact_id=contact.id,
            channel="staff",
            actor="t",
            verification_method="in_person",
        )
        erasure.start_erasure(session, request.id, "t")
        erasure.run_erasure(session, str(request.id))
    login(client, tenant_a.email, tenant_a.password)
    token = csrf_token_from(client.get(f"/t/{tenant_a.slug}/privacy/requests").text)
    lift = f"/t/{tenant_a.slug}/privacy/suppression/lift"
    vague = client.post(
        lift, data={"email": "returner@example.com", "lawful_reason": "ok", "csrf_token": token}
    )
    assert vague.status_code == 422
    with tenant_session(tenant_a.ref) as session, pytest.raises(ValidationError):
        services.contacts.create(session, {"last_name": "Returner", "email": "returner@example.com"})

    reason = "New contract signed on 2026-11-20 (Art. 6(1)(b))"
    allowed = client.post(
        lift, data={"email": "Returner@example.com", "lawful_reason": reason, "csrf_token": token}
    )
    assert allowed.status_code == 302
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"last_name": "Returner", "email": "returner@example.com"})
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action == "privacy.suppression.lifted"
        )
    )
    assert entry.details["reason"] == reason and "returner" not in str(entry.details).lower()
