"""The restore and signup-import pages and API: upload, progress, refusal per file, what to re-enter; one
workspace's restores are out of another's reach, and a read-only workspace refuses saying why."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import select

from saas.auth.models import Invitation, Membership, User
from saas.db import db
from saas.exports.models import ArchiveImport
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.exports.fixtures import fill_every_table
from tests.exports.test_configuration import configure_workspace
from tests.exports.test_self_serve_import import billing_on, exported, lapse, run_jobs

pytestmark = pytest.mark.usefixtures("s3")


@pytest.fixture
def archive(tenant_a, tmp_path) -> bytes:
    """An archive of a configured workspace with data in every table."""
    fill_every_table(tenant_a)
    configure_workspace(tenant_a)
    return open(exported(tenant_a, tmp_path / "a.zip"), "rb").read()


def _fresh_client(app):
    """A second browser. The tests run inside one app context, whose ``g`` the requests share: the
    first person's signed-in user and workspace must not carry over to the second browser."""
    from flask import g

    for name in ("_login_user", "tenant", "membership", "csrf_token"):
        g.pop(name, None)
    return app.test_client()


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_api_restore_runs_with_progress_and_lists_the_secrets(client, tenant_a, tenant_b, archive):
    headers = bearer(make_token(tenant_b))
    started = client.post(
        "/api/v1/restores", headers=headers, data={"archive": (io.BytesIO(archive), "a.zip")}
    )
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert body["status"] == "queued" and body["kind"] == "restore"

    run_jobs()
    done = client.get(f"/api/v1/restores/{body['id']}", headers=headers).get_json()
    assert done["status"] == "done" and done["tables_done"] == done["tables_total"] > 0
    assert {s["kind"] for s in done["secrets_to_reenter"]} == {
        "sso_client_secret",
        "api_client",
        "webhook_secrets",
    }

    # Another workspace's token does not find it; a second restore is refused (the workspace has records).
    other = bearer(make_token(tenant_a))
    _problem(client.get(f"/api/v1/restores/{body['id']}", headers=other), 404)
    again = client.post("/api/v1/restores", headers=headers, data={"archive": (io.BytesIO(archive), "a.zip")})
    assert "already holds records" in _problem(again, 409)["detail"]


def test_api_restore_is_for_owners_and_refused_when_read_only(app, client, tenant_a, tenant_b, archive):
    from saas.auth.services import add_member, create_api_token

    admin_email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_b.tenant.id, admin_email, PASSWORD, "admin", actor="test")
    db.session.commit()
    _, admin_token = create_api_token(db.session, tenant_b.slug, admin_email, "admin")
    db.session.commit()
    upload = {"archive": (io.BytesIO(archive), "a.zip")}
    _problem(client.post("/api/v1/restores", headers=bearer(admin_token), data=upload), 403)
    _problem(client.post("/api/v1/restores", headers=bearer(make_token(tenant_b)), data={}), 422)

    lapse(tenant_b)
    with billing_on(app):
        refused = client.post(
            "/api/v1/restores",
            headers=bearer(make_token(tenant_b)),
            data={"archive": (io.BytesIO(archive), "a.zip")},
        )
        # The billing guard answers first (402, saying why); the service refuses alike for a queued job.
        assert "read-only" in _problem(refused, 402)["detail"]
    assert (
        db.session.scalars(select(ArchiveImport).where(ArchiveImport.tenant_id == tenant_b.tenant.id)).all()
        == []
    )


def test_owner_restores_on_the_page_and_sees_what_to_reenter(
    app, client, make_tenant, tenant_a, tenant_b, archive
):
    assert login(client, tenant_b.email, tenant_b.password).status_code == 302
    page = client.get(f"/t/{tenant_b.slug}/settings/restore")
    assert page.status_code == 200 and 'name="archive"' in page.text
    posted = client.post(
        f"/t/{tenant_b.slug}/settings/restore",
        data={"csrf_token": csrf_token_from(page.text), "archive": (io.BytesIO(archive), "a.zip")},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302
    status_url = posted.headers["Location"]
    assert 'data-import-status="queued"' in client.get(status_url).text
    live = client.get(f"{status_url}/progress").get_json()  # what the page polls while the job runs
    assert live == {
        "status": "queued",
        "stage": "Waiting for a worker",
        "tables_done": 0,
        "tables_total": 0,
        "rows_loaded": 0,
    }

    run_jobs()
    done = client.get(status_url).text
    assert 'data-import-status="done"' in done
    assert "https://idp.example.com" in done and "Zapier" in done
    sent = client.post(
        re.search(r'action="([^"]+/invitations)"', done).group(1), data={"csrf_token": csrf_token_from(done)}
    )
    assert sent.status_code == 302
    # The other workspace's owner reaches neither the page of this restore nor one through their own slug.
    other = make_tenant("gamma")  # A's owner has two-factor sign-in since configure_workspace
    client = _fresh_client(app)
    answer = login(client, other.email, other.password)
    assert answer.status_code == 302, answer.get_data(as_text=True)[-1500:]
    import_id = status_url.rsplit("/", 1)[-1]
    assert client.get(f"/t/{other.slug}/settings/restore/{import_id}").status_code == 404
    assert client.get(f"/t/{tenant_b.slug}/settings/restore/{import_id}").status_code in (403, 404)


def test_a_refused_archive_shows_each_reason_on_the_page(client, tenant_b, archive):
    assert login(client, tenant_b.email, tenant_b.password).status_code == 302
    page = client.get(f"/t/{tenant_b.slug}/settings/restore")
    broken = archive.replace(b"data/contacts.csv", b"data/contacts.csX", 1)  # a file's name in the directory
    posted = client.post(
        f"/t/{tenant_b.slug}/settings/restore",
        data={"csrf_token": csrf_token_from(page.text), "archive": (io.BytesIO(broken), "a.zip")},
        content_type="multipart/form-data",
    )
    run_jobs()
    refused = client.get(posted.headers["Location"]).text
    assert 'data-import-status="refused"' in refused and 'id="refusals"' in refused
    assert "nothing was written" in refused


def test_a_company_signs_up_with_an_archive_and_its_team_is_invited(
    app, client, make_tenant, tenant_a, archive
):
    from saas.tenants.signup import _serializer

    email = f"arrive-{uuid.uuid4().hex[:6]}@example.com"
    slug = f"arrive-{uuid.uuid4().hex[:6]}"
    with app.test_request_context():
        token = _serializer().dumps({"n": "Arrivals", "s": slug, "e": email})
    page = client.get(f"/signup/confirm/{token}")
    assert 'name="archive"' in page.text
    posted = client.post(
        f"/signup/confirm/{token}",
        data={
            "csrf_token": csrf_token_from(page.text),
            "admin_password": PASSWORD,
            "archive": (io.BytesIO(archive), "a.zip"),
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302, posted.get_data(as_text=True)[:500]
    status_url = posted.headers["Location"]
    assert "/signup/imports/" in status_url
    assert client.get(f"{status_url}/progress").get_json()["status"] == "queued"
    run_jobs()
    finished = client.get(status_url)
    assert finished.status_code == 302 and f"/t/{slug}/settings/restore/" in finished.headers["Location"]

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    owner = db.session.scalar(select(User).where(User.email == email))
    assert [
        (m.user_id, m.role)
        for m in db.session.scalars(select(Membership).where(Membership.tenant_id == tenant.id))
    ] == [(owner.id, "owner")]
    invited = set(db.session.scalars(select(Invitation.email).where(Invitation.tenant_id == tenant.id)))
    assert {tenant_a.email, "invited@example.com"} <= invited
    members_page = client.get(f"/t/{slug}/settings/members").text
    assert "invited@example.com" in members_page

    # Somebody else, signed in, does not see this person's import.
    other = make_tenant("gamma")
    client = _fresh_client(app)
    assert login(client, other.email, other.password).status_code == 302
    assert client.get(status_url).status_code == 404
    assert client.get(f"{status_url}/progress").status_code == 404
