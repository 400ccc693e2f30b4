"""The authenticated API hot path: how many SQL statements a list request sends, and that the cached
credential resolution still lets revocation and deactivation take effect on the next request."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from saas.api.credentials import revoke_api_token
from saas.api.models import digest
from saas.auth import members
from saas.auth.models import ApiToken, Membership
from saas.auth.services import (
    add_member,
    create_api_token,
    find_user_by_email,
    membership_for,
    set_user_active,
)
from saas.db import db, tenant_session
from saas.modules.core.services import contacts
from tests.api.helpers import client_token
from tests.conftest import PASSWORD, bearer, make_token


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine (platform or tenant) sends while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _is_transaction_control(statement: str) -> bool:
    return statement.strip().upper().split(" ", 1)[0] in TRANSACTION_CONTROL


def _with_contacts(tenant, count: int = 3) -> None:
    with tenant_session(tenant.ref) as session:
        for i in range(count):
            contacts.create(session, {"first_name": f"Ada{i}", "last_name": "Lovelace"})


def test_api_list_sends_the_query_and_at_most_one_lookup(client, tenant_a):
    """A warm credential: the page's query and the custom field definitions it is shown with, no more
    (no platform query for the token, its member or tenant, and no write)."""
    _with_contacts(tenant_a)
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200  # warm pools and caches
    with statements() as sent:
        response = client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["data"]) == 3
    sent = [s for s in sent if not _is_transaction_control(s)]
    assert len(sent) <= 2, "\n---\n".join(sent)
    assert not [s for s in sent if "platform." in s]


def test_api_list_with_a_cold_credential_cache_adds_one_lookup(app, client, tenant_a):
    from saas.api.credential_cache import credential_cache

    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    credential_cache().clear()
    with statements() as sent:
        response = client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 200
    sent = [s for s in sent if not _is_transaction_control(s)]
    assert len(sent) == 2, "\n---\n".join(sent)  # no contacts here: the credential, then the page
    assert "platform.api_tokens" in sent[0] and "platform.memberships" in sent[0]
    assert "platform." not in sent[1]


def _member_with_token(tenant, role: str) -> tuple[Membership, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    membership = add_member(db.session, tenant.tenant.id, email, PASSWORD, role, actor="test")
    db.session.commit()
    _, secret = create_api_token(db.session, tenant.slug, email, "member token")
    db.session.commit()
    return membership, secret


def _owner(tenant) -> Membership:
    user = find_user_by_email(db.session, tenant.email)
    return membership_for(db.session, user.id, tenant.slug)


def test_deactivated_member_is_refused_on_the_next_request(client, tenant_a):
    membership, secret = _member_with_token(tenant_a, "member")
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200  # now cached
    members.set_active(db.session, _owner(tenant_a), membership.id, False)
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401
    members.set_active(db.session, _owner(tenant_a), membership.id, True)
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200


def test_removed_member_is_refused_on_the_next_request(client, tenant_a):
    membership, secret = _member_with_token(tenant_a, "member")
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    members.remove_member(db.session, _owner(tenant_a), membership.id)
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401


def test_deactivated_user_is_refused_on_the_next_request(client, tenant_a):
    membership, secret = _member_with_token(tenant_a, "member")
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    set_user_active(db.session, membership.user, False, actor="test")
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401


def test_demoted_admin_loses_admin_endpoints_on_the_next_request(client, tenant_a):
    membership, secret = _member_with_token(tenant_a, "admin")
    assert client.get("/api/v1/api-clients", headers=bearer(secret)).status_code == 200
    members.change_role(db.session, _owner(tenant_a), membership.id, "member")
    db.session.commit()
    assert client.get("/api/v1/api-clients", headers=bearer(secret)).status_code == 403


def test_revoked_personal_token_is_refused_on_the_next_request(client, tenant_a):
    secret = make_token(tenant_a)
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
    revoke_api_token(db.session, tenant_a.tenant.id, token.id, actor="test")
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401


def test_revoked_api_client_is_refused_on_the_next_request(client, tenant_a):
    owner = bearer(make_token(tenant_a))
    created = client.post(
        "/api/v1/api-clients", json={"name": "ERP", "scopes": ["contacts:read"]}, headers=owner
    )
    body = created.get_json()
    access = client_token(client, body["client_id"], body["client_secret"]).get_json()["access_token"]
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 200
    assert client.delete(f"/api/v1/api-clients/{body['id']}", headers=owner).status_code == 204
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 401


def test_a_change_another_process_commits_reaches_this_process_through_redis(app, client, tenant_a):
    """The counters live in Redis: a revocation committed by another process (here: bumped without
    this process's session seeing the row change) makes this process look the credential up again."""
    from saas.api.credential_cache import credential_cache, invalidate, tenant_key

    secret = make_token(tenant_a)
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    with db.engine.begin() as connection:  # a raw write the ORM watch cannot see, as another process's
        connection.execute(
            text("UPDATE platform.api_tokens SET revoked_at = now() WHERE prefix = :p"), {"p": secret[:12]}
        )
    assert credential_cache().get(digest(secret)) is not None  # still trusted: nothing said otherwise
    invalidate([tenant_key(tenant_a.tenant.id)])  # what that process's commit does
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401


def _client_access_token(client, owner: dict[str, str]) -> tuple[str, dict]:
    created = client.post(
        "/api/v1/api-clients", json={"name": "ERP", "scopes": ["contacts:read"]}, headers=owner
    )
    body = created.get_json()
    return client_token(client, body["client_id"], body["client_secret"]).get_json()["access_token"], body


def test_expired_access_token_is_refused_even_when_cached(client, tenant_a):
    from saas.api.credential_cache import credential_cache

    access, _ = _client_access_token(client, bearer(make_token(tenant_a)))
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 200
    cache = credential_cache()
    entry = cache._entries[digest(access)]
    # The cached resolution as it will be once the token's lifetime has passed (no clock is waited on).
    expired = dataclasses.replace(entry.value, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    cache.put(digest(access), expired, entry.keys, entry.versions)
    assert client.get("/api/v1/contacts", headers=bearer(access)).status_code == 401


def test_last_used_is_written_in_one_batch_not_per_request(app, client, tenant_a, tenant_b):
    from saas.api.last_used import last_used_recorder

    secrets_ = [make_token(tenant_a), make_token(tenant_b)]
    recorder = last_used_recorder()
    recorder.flush()
    for secret in secrets_:
        with statements() as sent:
            assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
        assert not [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    with statements() as sent:
        assert recorder.flush() == 2
    assert len([s for s in sent if s.lstrip().upper().startswith("UPDATE")]) == 1
    for secret in secrets_:
        db.session.expire_all()
        token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == secret[:12]))
        assert token.last_used_at is not None


@contextmanager
def redis_round_trips() -> Iterator[list[bytes]]:
    """Every write to a Redis socket while the block runs: a pipeline is one, each lone command one."""
    from redis.connection import AbstractConnection

    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def observed(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = observed
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original


def test_warm_api_request_takes_one_redis_round_trip_for_its_limits_and_credential(client, tenant_a):
    """The address's limit, the token's limit and the cached credential's counters: one pipeline."""
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    with redis_round_trips() as sent:
        assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    assert len(sent) == 1, sent
    assert sent[0].count(b"EVALSHA") == 2 and b"MGET" in sent[0]


def test_refused_body_still_counts_against_the_address(app, client, tenant_a, monkeypatch):
    """A request refused before its token is checked (here: NUL in the query) is counted all the same."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_IP", "2/minute")
    headers = bearer(make_token(tenant_a))
    address = {"REMOTE_ADDR": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    for _ in range(2):
        refused = client.get("/api/v1/contacts?q=a%00b", headers=headers, environ_base=address)
        assert refused.status_code == 422, refused.get_json()
    assert client.get("/api/v1/contacts", headers=headers, environ_base=address).status_code == 429


def test_unknown_token_is_counted_against_the_address_before_its_lookup(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_IP", "2/minute")
    address = {"REMOTE_ADDR": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    guesses = [bearer(f"crm_{uuid.uuid4().hex}") for _ in range(3)]
    answers = [client.get("/api/v1/contacts", headers=h, environ_base=address) for h in guesses]
    assert [a.status_code for a in answers] == [401, 401, 429]


def _field(client, headers, key: str) -> dict:
    body = {"entity": "contacts", "key": key, "label": key.title(), "field_type": "text"}
    response = client.post("/api/v1/custom-fields", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_warm_list_request_sends_only_the_page_query(client, tenant_a):
    """The custom field definitions come from this process's cache, confirmed in the Redis round trip."""
    _with_contacts(tenant_a)
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    with statements() as sent:
        assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    sent = [s for s in sent if not _is_transaction_control(s)]
    assert len(sent) == 1 and "custom_fields" not in sent[0], "\n---\n".join(sent)


def test_a_custom_field_change_shows_on_the_very_next_list_request(client, tenant_a):
    _with_contacts(tenant_a, 1)
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {}  # cached
    field = _field(client, headers, "shoe")
    [row] = client.get("/api/v1/contacts", headers=headers).json["data"]
    assert client.patch(
        f"/api/v1/contacts/{row['id']}", json={"custom_fields": {"shoe": "42"}}, headers=headers
    ).status_code == 200  # fmt: skip
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {"shoe": "42"}
    assert client.get("/api/v1/contacts?cf_shoe=42", headers=headers).json["data"]
    assert client.delete(f"/api/v1/custom-fields/{field['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {}
    refused = client.get("/api/v1/contacts?cf_shoe=42", headers=headers)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"


def test_a_definition_change_another_process_commits_reaches_this_process_through_redis(client, tenant_a):
    """Another process's commit increments the tenant's counter; this process then reads the rows again."""
    from saas.tenants.versioned_cache import _increment, counter_key

    _with_contacts(tenant_a, 1)
    headers = bearer(make_token(tenant_a))
    _field(client, headers, "size")
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {"size": None}
    with tenant_session(tenant_a.ref) as session:  # a write the ORM watch of this process cannot see
        session.execute(text("UPDATE custom_fields SET deleted_at = now() WHERE column_name = 'cf_size'"))
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {"size": None}
    _increment([counter_key("custom_fields", tenant_a.tenant.id)])  # what that process's commit does
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {}


def test_tenant_b_is_never_served_tenant_a_cached_definitions(client, tenant_a, tenant_b):
    _with_contacts(tenant_a, 1)
    _with_contacts(tenant_b, 1)
    headers_a, headers_b = bearer(make_token(tenant_a)), bearer(make_token(tenant_b))
    _field(client, headers_a, "secret_a")
    [row_a] = client.get("/api/v1/contacts", headers=headers_a).json["data"]
    assert row_a["custom_fields"] == {"secret_a": None}
    assert client.get("/api/v1/contacts", headers=headers_b).json["data"][0]["custom_fields"] == {}
    refused = client.get("/api/v1/contacts?cf_secret_a=x", headers=headers_b)
    assert refused.status_code == 422


def test_a_unit_of_work_that_defines_a_field_reads_it_back_before_its_commit(client, tenant_a):
    from saas.modules.core import custom_fields

    _with_contacts(tenant_a, 1)
    headers = bearer(make_token(tenant_a))
    assert client.get("/api/v1/contacts", headers=headers).json["data"][0]["custom_fields"] == {}  # cached
    with tenant_session(tenant_a.ref) as session:
        body = {"key": "fresh", "label": "Fresh", "field_type": "text"}
        custom_fields.define_field(session, "contacts", body)
        record = contacts.create(session, {"last_name": "Same unit"})
        custom_fields.annotate(session, "contacts", [record])
        assert record.custom_fields == {"fresh": None}
