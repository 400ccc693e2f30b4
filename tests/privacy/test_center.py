"""The public privacy center: magic links, no enumeration, consents, the person's own download."""

from __future__ import annotations

import json
import time

from itsdangerous import TimestampSigner
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.db import db, tenant_session
from saas.modules.privacy import consent
from saas.modules.privacy.links import LINK_SECONDS, link_serializer
from saas.modules.privacy.models import ConsentEvent, PrivacyRequest
from tests.conftest import csrf_token_from
from tests.privacy.conftest import add_contact, enter_center, mailed_token, request_link, sign_in_to_center


def test_unknown_email_gets_the_same_answer_as_a_known_one_and_no_mail(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Known", last_name="Person", email="known@example.com")
    known = request_link(client, tenant_a.slug, "known@example.com")
    unknown = request_link(client, tenant_a.slug, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert mailed_token(mail_sink, "known@example.com")
    assert mail_sink.to("nobody@example.com") == []


def test_link_opens_the_center_once(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Once", last_name="Only", email="once@example.com")
    request_link(client, tenant_a.slug, "once@example.com")
    token = mailed_token(mail_sink, "once@example.com")

    assert enter_center(client, tenant_a.slug, token).status_code == 302
    home = client.get(f"/hub/{tenant_a.slug}/home")
    assert home.status_code == 200 and "Once" in home.text

    again = enter_center(client, tenant_a.slug, token)
    assert again.status_code == 400 and "not valid" in again.text


def test_used_link_answers_with_the_form_that_mails_a_new_one(client, tenant_a, mail_sink):
    add_contact(tenant_a, first_name="Used", last_name="Twice", email="used@example.com")
    request_link(client, tenant_a.slug, "used@example.com")
    token = mailed_token(mail_sink, "used@example.com")
    enter_center(client, tenant_a.slug, token)

    again = enter_center(client, tenant_a.slug, token)
    assert again.status_code == 400 and "used already or it expired" in again.text
    assert f'action="/hub/{tenant_a.slug}/"' in again.text and 'name="email"' in again.text
    assert "Send me a link" in again.text


def _forged_at(seconds_ago: int):
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    return Earlier


def test_expired_tampered_and_other_tenant_links_are_refused(client, app_ctx, tenant_a, tenant_b, mail_sink):
    contact_id = add_contact(tenant_a, first_name="Link", last_name="Checked", email="links@example.com")
    payload = {"t": tenant_a.tenant.id, "c": contact_id, "l": "fixed-link-id"}
    expired = link_serializer(signer=_forged_at(LINK_SECONDS + 60)).dumps(payload)
    fresh = link_serializer(signer=_forged_at(60)).dumps(payload)
    tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")

    for token in (expired, tampered):
        assert enter_center(client, tenant_a.slug, token).status_code == 400
    # Tenant A's genuine link does not open tenant B's center, not even with a contact id B might hold.
    assert enter_center(client, tenant_b.slug, fresh).status_code == 400
    assert client.post(f"/hub/{tenant_b.slug}/enter/{fresh}", data={}).status_code == 400
    # The same genuine link still works where it belongs: the refusals were about the link, not the person.
    assert enter_center(client, tenant_a.slug, fresh).status_code == 302


def test_center_session_of_tenant_a_does_not_open_tenant_b(client, tenant_a, tenant_b, mail_sink):
    add_contact(tenant_a, first_name="Cross", last_name="Over", email="cross@example.com")
    add_contact(tenant_b, first_name="Cross", last_name="Over", email="cross@example.com")
    sign_in_to_center(client, mail_sink, tenant_a.slug, "cross@example.com")
    assert client.get(f"/hub/{tenant_b.slug}/home").status_code == 302
    assert client.get(f"/hub/{tenant_b.slug}/download").status_code == 302
    assert client.get("/hub/no-such-workspace/").status_code == 404
    assert client.get("/p/no-such-workspace/").status_code == 404


def test_link_requests_are_rate_limited(app, tenant_a, mail_sink, monkeypatch):
    monkeypatch.setitem(app.config, "PRIVACY_LINK_RATE_LIMIT", "2 per minute")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    answers = [request_link(client, tenant_a.slug, f"flood{i}@example.com").status_code for i in range(3)]
    assert answers == [200, 200, 429]


def test_self_service_download_holds_that_person_only(client, tenant_a, tenant_b, mail_sink):
    from saas.modules.sfa.models import Lead

    add_contact(
        tenant_a, first_name="Ann", last_name="Lee", email="ann.lee@example.com", phone="+1 212 555 0101"
    )
    add_contact(
        tenant_a, first_name="Anne", last_name="Lee", email="anne.lee@example.com", notes="anne-secret"
    )
    add_contact(
        tenant_b, first_name="Ann", last_name="Lee", email="ann.lee@example.com", notes="tenant-b-secret"
    )
    with tenant_session(tenant_a.ref) as session:
        session.add(Lead(last_name="Lee", email="ANN.LEE@example.com", notes="ann-lead-note"))
        session.add(Lead(last_name="Lee", email="anne.lee@example.com", notes="anne-lead-note"))
    sign_in_to_center(client, mail_sink, tenant_a.slug, "ann.lee@example.com")

    response = client.get(f"/hub/{tenant_a.slug}/download")
    assert response.status_code == 200 and response.mimetype == "application/json"
    text = response.text
    data = json.loads(text)["data"]
    assert data["core"]["contact"]["email"] == "ann.lee@example.com"
    assert [lead["notes"] for lead in data["sfa"]["leads"]] == ["ann-lead-note"]
    assert set(data) >= {"core", "sfa", "privacy"}
    for foreign in ("anne.lee@example.com", "anne-secret", "anne-lead-note", "tenant-b-secret"):
        assert foreign not in text


def test_consent_change_in_the_center_is_a_ledger_event(client, tenant_a, mail_sink):
    contact_id = add_contact(tenant_a, first_name="Opt", last_name="In", email="optin@example.com")
    sign_in_to_center(client, mail_sink, tenant_a.slug, "optin@example.com")
    home = client.get(f"/hub/{tenant_a.slug}/home")
    form = {"purpose": "email_marketing", "notice_version": "1", "csrf_token": csrf_token_from(home.text)}
    assert client.post(f"/hub/{tenant_a.slug}/consents", data={**form, "choice": "grant"}).status_code == 302
    assert (
        client.post(f"/hub/{tenant_a.slug}/consents", data={**form, "choice": "withdraw"}).status_code == 302
    )

    with tenant_session(tenant_a.ref) as session:
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [(e.status, e.source, e.actor, e.notice.version) for e in events] == [
            ("granted", "privacy_center", "data_subject", 1),
            ("withdrawn", "privacy_center", "data_subject", 1),
        ]
        assert events[0].ip == "127.0.0.1"
        assert consent.may_contact(session, events[0].contact_id, "email_marketing") is False
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == contact_id)))
    assert {"privacy.link.requested", "privacy.link.sent", "privacy.center.signed_in"} <= actions
    assert "privacy.consent.recorded" in actions


def test_requests_from_the_center_are_verified_by_the_link_and_objection_stops_marketing(
    client, tenant_a, mail_sink
):
    contact_id = add_contact(tenant_a, first_name="Ob", last_name="Jector", email="object@example.com")
    sign_in_to_center(client, mail_sink, tenant_a.slug, "object@example.com")
    token = csrf_token_from(client.get(f"/hub/{tenant_a.slug}/home").text)
    for kind in ("erasure", "objection", "access"):  # access is staff-only here: refused, nothing stored
        client.post(
            f"/hub/{tenant_a.slug}/requests", data={"kind": kind, "details": "please", "csrf_token": token}
        )

    with tenant_session(tenant_a.ref) as session:
        stored = session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.kind)).all()
        assert [(r.kind, r.status, r.channel, r.verification_method) for r in stored] == [
            ("erasure", "verified", "privacy_center", "email_link"),
            ("objection", "verified", "privacy_center", "email_link"),
        ]
        assert all(str(r.contact_id) == contact_id for r in stored)
        assert consent.consent_state(session, stored[0].contact_id)["email_marketing"].status == "withdrawn"


def test_download_includes_every_record_held_under_the_persons_email(client, tenant_a, mail_sink):
    add_contact(
        tenant_a, first_name="Twice", last_name="Kept", email="twice@example.com", notes="first-record"
    )
    add_contact(tenant_a, last_name="Kept", email="TWICE@example.com", notes="second-record")
    sign_in_to_center(client, mail_sink, tenant_a.slug, "twice@example.com")
    assert "1 more record with your email" in client.get(f"/hub/{tenant_a.slug}/home").text
    data = client.get(f"/hub/{tenant_a.slug}/download").json["data"]
    assert data["core"]["contact"]["notes"] == "first-record"
    assert [record["core"]["contact"]["notes"] for record in data["other_records"]] == ["second-record"]
