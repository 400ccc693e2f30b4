"""Tenant isolation: B never sees or changes A's records, by API, pages, jobs or raw SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.models import Contact
from tests.conftest import bearer, csrf_token_from, login, make_token


@pytest.fixture
def a_records(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        account = services.accounts.create(session, {"name": "Alpha Secret Account"})
        contact = services.contacts.create(
            session,
            {
                "first_name": "Alice",
                "last_name": "Secret",
                "email": "alice@alpha.example",
                "account_id": account.id,
            },
        )
        return {"contacts": contact.id, "accounts": account.id}


def test_raw_sql_under_tenant_a_role_cannot_read_tenant_b(tenant_a, tenant_b):
    for query in (f'SELECT * FROM "{tenant_b.tenant.schema_name}".contacts', "SELECT * FROM platform.users"):
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            tenant_session(tenant_a.ref) as session,
        ):
            session.execute(text(query)).all()


def test_unqualified_raw_sql_reads_only_the_bound_tenant(tenant_a, tenant_b, a_records):
    with tenant_session(tenant_b.ref) as session:
        assert session.execute(text("SELECT count(*) FROM contacts")).scalar() == 0
    with tenant_session(tenant_a.ref) as session:
        assert session.execute(text("SELECT count(*) FROM contacts")).scalar() == 1


def test_tenant_binding_survives_commit_within_a_session(tenant_a, tenant_b, a_records):
    with tenant_session(tenant_b.ref) as session:
        session.commit()  # a new transaction begins afterwards: it must be bound again
        assert session.execute(text("SELECT current_user")).scalar() == tenant_b.tenant.role_name
        assert session.scalars(select(Contact)).all() == []


RESOURCES = ("contacts", "accounts")


@pytest.mark.parametrize("resource", RESOURCES)
def test_tenant_b_token_gets_404_for_every_route_on_tenant_a_records(
    client, tenant_a, tenant_b, a_records, resource
):
    record_id = a_records[resource]
    headers = bearer(make_token(tenant_b))
    url = f"/api/v1/{resource}/{record_id}"
    assert client.get(url, headers=headers).status_code == 404
    patched = client.patch(url, json={"notes": "hijacked"}, headers=headers)
    assert patched.status_code == 404
    assert patched.mimetype == "application/problem+json"
    assert client.delete(url, headers=headers).status_code == 404
    listed = client.get(f"/api/v1/{resource}", headers=headers).get_json()
    assert str(record_id) not in {row["id"] for row in listed["data"]}
    searched = client.get(f"/api/v1/{resource}?q=secret", headers=headers).get_json()
    assert searched["data"] == []
    # A's record is untouched and still readable by A.
    own = client.get(url, headers=bearer(make_token(tenant_a)))
    assert own.status_code == 200 and own.get_json()["notes"] is None


@pytest.mark.parametrize("resource", RESOURCES)
def test_tenant_b_user_gets_404_for_every_page_on_tenant_a_records(
    client, tenant_a, tenant_b, a_records, resource
):
    record_id = a_records[resource]
    assert login(client, tenant_b.email, tenant_b.password).status_code == 302
    own_page = client.get(f"/t/{tenant_b.slug}/{resource}")
    token = csrf_token_from(own_page.text)
    # Through B's own workspace URL: A's ids do not exist there.
    for path in (f"/{resource}/{record_id}", f"/{resource}/{record_id}/edit"):
        assert client.get(f"/t/{tenant_b.slug}{path}").status_code == 404
    assert (
        client.post(f"/t/{tenant_b.slug}/{resource}/{record_id}/edit", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(
            f"/t/{tenant_b.slug}/{resource}/{record_id}/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert "Secret" not in client.get(f"/t/{tenant_b.slug}/{resource}?q=secret").text
    # Through A's workspace URL: B is not a member, so A's workspace does not exist for B.
    for path in ("/", f"/{resource}", f"/{resource}/{record_id}", f"/{resource}/{record_id}/edit"):
        response = client.get(f"/t/{tenant_a.slug}{path}")
        assert response.status_code == 404
        assert "Secret" not in response.text
    assert (
        client.post(
            f"/t/{tenant_a.slug}/{resource}/{record_id}/delete", data={"csrf_token": token}
        ).status_code
        == 404
    )
    with tenant_session(tenant_a.ref) as session:
        assert services.RecordService.get(
            services.contacts if resource == "contacts" else services.accounts, session, record_id
        )


def test_unknown_workspace_and_foreign_workspace_look_the_same(client, tenant_a, tenant_b):
    login(client, tenant_b.email, tenant_b.password)
    foreign = client.get(f"/t/{tenant_a.slug}/contacts")
    missing = client.get("/t/no-such-workspace/contacts")
    assert foreign.status_code == missing.status_code == 404


def test_token_of_a_removed_member_stops_working(client, tenant_a):
    from saas.auth.models import Membership

    secret = make_token(tenant_a)
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 200
    db.session.execute(Membership.__table__.delete().where(Membership.tenant_id == tenant_a.tenant.id))
    db.session.commit()
    assert client.get("/api/v1/contacts", headers=bearer(secret)).status_code == 401
