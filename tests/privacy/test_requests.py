"""Data subject requests on the staff side: deadline, queue, trail, audit, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.privacy import requests
from saas.modules.privacy.models import PrivacyRequest
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.privacy.conftest import add_contact


def test_due_date_is_one_month_after_receipt_clamped_to_the_month_end():
    assert requests.one_month_after(datetime(2026, 1, 31, 9, tzinfo=UTC)) == datetime(
        2026, 2, 28, 9, tzinfo=UTC
    )
    assert requests.one_month_after(datetime(2028, 1, 30, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)
    assert requests.one_month_after(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 15, tzinfo=UTC)


def test_staff_open_verify_assign_and_complete_with_a_trail_and_audit(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Asker", email="asker@example.com")
    login(client, tenant_a.email, tenant_a.password)
    queue = client.get(f"/t/{tenant_a.slug}/privacy/requests")
    token = csrf_token_from(queue.text)
    opened = client.post(
        f"/t/{tenant_a.slug}/privacy/requests",
        data={"contact_id": contact_id, "kind": "access", "verification_method": "", "csrf_token": token},
    )
    assert opened.status_code == 302
    detail_url = opened.headers["Location"]
    request_id = detail_url.rstrip("/").rsplit("/", 1)[1]

    # Nothing is acted on before the person's identity is verified.
    client.post(detail_url, data={"action": "completed", "csrf_token": token})
    for form in ({"action": "verify", "verification_method": "email_reply"}, {"action": "assign"},
                 {"action": "completed", "note": "sent the export"}):  # fmt: skip
        assert client.post(detail_url, data={**form, "csrf_token": token}).status_code == 302

    with tenant_session(tenant_a.ref) as session:
        stored = session.get(PrivacyRequest, request_id)
        assert stored.status == "completed" and stored.assignee_user_id is not None
        assert stored.due_at == requests.one_month_after(stored.received_at)
        assert [s.action for s in stored.trail] == ["received", "verified", "assigned", "completed"]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == request_id).order_by(AuditEntry.id)
    ).all()
    assert actions == [
        f"privacy.request.{step}" for step in ("received", "verified", "assigned", "completed")
    ]


def test_queue_highlights_overdue_requests(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Late", email="late@example.com")
    with tenant_session(tenant_a.ref) as session:
        late = requests.open_request(
            session,
            kind="objection",
            contact_id=contact_id,
            channel="staff",
            actor="t",
            verification_method=None,
        )
        on_time = requests.open_request(
            session,
            kind="access",
            contact_id=contact_id,
            channel="staff",
            actor="t",
            verification_method=None,
        )
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == late.id)
            .values(due_at=PrivacyRequest.received_at - timedelta(days=1))
        )
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/privacy/requests").text
    assert "<title>Privacy requests ·" in page
    row_of = {str(r.id): next(row for row in page.split("<tr") if str(r.id) in row) for r in (late, on_time)}
    assert row_of[str(late.id)].startswith(' class="overdue"') and "overdue" in row_of[str(late.id)]
    assert "overdue" not in row_of[str(on_time.id)]


def test_api_lists_and_opens_requests_for_admins(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Api", email="api-request@example.com")
    headers = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/privacy/requests",
        json={"kind": "portability", "contact_id": contact_id, "verification_method": "in_person"},
        headers=headers,
    )
    assert created.status_code == 201 and created.json["status"] == "verified"
    listed = client.get("/api/v1/privacy/requests", headers=headers).json["data"]
    assert [r["id"] for r in listed] == [created.json["id"]]
    bad = client.post(
        "/api/v1/privacy/requests", json={"kind": "gossip", "contact_id": contact_id}, headers=headers
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_staff_hand_out_the_data_of_a_verified_access_request_only(client, tenant_a):
    contact_id = add_contact(tenant_a, last_name="Porter", email="porter@example.com")
    with tenant_session(tenant_a.ref) as session:
        unverified, verified = (
            requests.open_request(
                session,
                kind=kind,
                contact_id=contact_id,
                channel="staff",
                actor="t",
                verification_method=method,
            ).id
            for kind, method in (("access", None), ("portability", "in_person"))
        )
    login(client, tenant_a.email, tenant_a.password)
    assert client.get(f"/t/{tenant_a.slug}/privacy/requests/{unverified}/data.json").status_code == 409
    handed = client.get(f"/t/{tenant_a.slug}/privacy/requests/{verified}/data.json")
    assert (
        handed.status_code == 200 and handed.json["data"]["core"]["contact"]["email"] == "porter@example.com"
    )
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.target == str(verified), AuditEntry.action == "privacy.request.data_exported"
        )
    )
