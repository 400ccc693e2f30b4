"""The operator pages (/operator/): only accounts the CLI marked as operators reach them (anyone else,
a workspace's owner included, gets 404); an operator without two-factor is sent to set it up first, and a
session a workspace's identity provider opened gets 404 too; an operator sees every tenant's cell and
queues a move that a worker runs to the end; a bad cell or a missing CSRF token queues nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from babel import Locale
from babel.dates import format_date
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.cells import DEFAULT_CELL, cell_directory
from saas.db import db
from saas.jobs import make_worker, queue
from saas.tenants.models import Tenant
from saas.tenants.moves.models import SWITCHED, TenantMove
from saas.tenants.moves.service import move_tenant
from tests.auth.conftest import configure_sso, fresh_idp, idp, new_browser, sso_sign_in  # noqa: F401
from tests.cells.conftest import CELL_B
from tests.cells.test_move import leave_no_old_copies  # noqa: F401  (drops what moves leave behind)
from tests.conftest import TenantFixture, csrf_token_from, login
from tests.i18n.test_pseudo_locale import HEADERS, page_leaks, pseudo_locale, pseudo_pages  # noqa: F401
from tests.security.test_two_factor import enroll

pytestmark = pytest.mark.usefixtures("leave_no_old_copies", "leave_no_cell_b_tenants", "forget_move_limits")


@pytest.fixture(scope="module")
def forget_move_limits(app) -> Iterator[None]:
    """The move form's per-address limit counts in the Redis other tests share."""
    yield
    from saas.extensions import limiter

    with app.app_context():
        limiter.reset()


def _grant(app, email: str) -> None:
    granted = app.test_cli_runner().invoke(args=["operators", "grant", email])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.stdout)["changed"] is True


def _operator(app, make_cell_tenant):
    """A signed-in client of an account (here the owner of a workspace of its own) marked by the CLI, with
    two-factor set up (the operator pages ask for it)."""
    staff = make_cell_tenant(DEFAULT_CELL, "ops")
    _grant(app, staff.email)
    client = app.test_client()
    login(client, staff.email, staff.password)
    enroll(client)
    return client, staff


def _routes(slug: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/operator/"),
        ("GET", f"/operator/tenants/{slug}"),
        ("GET", f"/operator/tenants/{slug}/progress"),
        ("POST", f"/operator/tenants/{slug}/move"),
    ]


def _move_requests(tenant: TenantFixture) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.tenant_id == tenant.tenant.id, AuditEntry.action == "operator.move_requested"
            )
        )
    )


def test_anyone_but_an_operator_even_a_workspace_owner_gets_404_on_every_operator_route(
    app, app_ctx, make_cell_tenant
):
    owner = make_cell_tenant(DEFAULT_CELL, "own")
    signed_in = app.test_client()
    login(signed_in, owner.email, owner.password)
    token = csrf_token_from(signed_in.get("/account/security").text)
    waiting = queue().count
    for client in (app.test_client(), signed_in):
        for method, path in _routes(owner.slug):
            for data in ({"cell": CELL_B, "csrf_token": token}, {"cell": CELL_B}):
                answer = client.open(path, method=method, data=data if method == "POST" else None)
                assert answer.status_code == 404, (method, path, answer.status_code)
    assert "operator" not in signed_in.get(f"/operator/tenants/{owner.slug}").text.lower()
    assert queue().count == waiting and _move_requests(owner) == []
    db.session.expire_all()
    assert db.session.get(Tenant, owner.tenant.id).cell == DEFAULT_CELL


def test_an_operator_without_two_factor_is_sent_to_set_it_up_and_acts_on_nothing_before(
    app, app_ctx, make_cell_tenant
):
    staff = make_cell_tenant(DEFAULT_CELL, "op2f")
    _grant(app, staff.email)
    client = app.test_client()
    login(client, staff.email, staff.password)
    token = csrf_token_from(client.get("/account/security").text)
    waiting = queue().count

    for method, path in _routes(staff.slug):
        answer = client.open(path, method=method, data={"cell": CELL_B, "csrf_token": token})
        assert answer.status_code == 302, (method, path, answer.status_code)
        assert answer.headers["Location"].startswith("/account/two-factor/enable?next="), answer.headers
    assert queue().count == waiting and _move_requests(staff) == []
    assert "two-factor sign-in" in client.get("/account/two-factor/enable").text

    enroll(client, "?next=/operator/")
    assert client.get("/operator/").status_code == 200


def test_a_session_a_workspace_identity_provider_opened_never_reaches_the_operator_pages(
    app,
    app_ctx,
    make_cell_tenant,
    fresh_idp,  # noqa: F811
):
    _, staff = _operator(app, make_cell_tenant)
    configure_sso(fresh_idp, staff)
    browser = new_browser(app)
    assert sso_sign_in(browser, fresh_idp, staff.slug, staff.email).status_code == 302
    assert browser.get(f"/t/{staff.slug}/").status_code == 200  # signed in, by the provider

    for method, path in _routes(staff.slug):
        assert browser.open(path, method=method).status_code == 404, (method, path)


def test_an_operator_sees_every_tenant_with_its_cell_and_the_declared_cells(app, app_ctx, make_cell_tenant):
    client, _ = _operator(app, make_cell_tenant)
    in_a, in_b = make_cell_tenant(DEFAULT_CELL, "lista"), make_cell_tenant(CELL_B, "listb")

    page = client.get("/operator/?q=list")

    assert page.status_code == 200
    for tenant, cell in ((in_a, DEFAULT_CELL), (in_b, CELL_B)):
        row = page.text.split(f'data-tenant="{tenant.slug}"', 1)[1].split("</tr>", 1)[0]
        assert f'<td data-field="cell">{cell}</td>' in row
    assert f'data-cell="{DEFAULT_CELL}"' in page.text and f'data-cell="{CELL_B}"' in page.text
    detail = client.get(f"/operator/tenants/{in_b.slug}")
    assert detail.status_code == 200 and f'<option value="{DEFAULT_CELL}"' in detail.text
    assert client.get("/operator/tenants/no-such-tenant").status_code == 404


def test_a_posted_move_is_queued_then_a_worker_moves_the_tenant_from_cell_a_to_cell_b(
    app, app_ctx, servers, make_cell_tenant
):
    client, staff = _operator(app, make_cell_tenant)
    tenant = make_cell_tenant(DEFAULT_CELL, "opmv")
    page = client.get(f"/operator/tenants/{tenant.slug}")

    answer = client.post(
        f"/operator/tenants/{tenant.slug}/move",
        data={"cell": CELL_B, "csrf_token": csrf_token_from(page.text)},
    )

    assert answer.status_code == 302
    (requested,) = _move_requests(tenant)
    assert requested.actor == staff.email and requested.details["to"] == CELL_B
    assert requested.details["job"] in queue().job_ids  # queued on the default cell, not run in the request
    assert client.get(f"/operator/tenants/{tenant.slug}/progress").get_json()["status"] == "queued"
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL

    make_worker(DEFAULT_CELL).work(burst=True)

    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == CELL_B
    move = db.session.scalar(select(TenantMove).where(TenantMove.tenant_id == tenant.tenant.id))
    assert move.step == SWITCHED and move.actor == staff.email and move.error is None
    assert servers[CELL_B].has_schema(tenant.ref.schema_name)
    progress = client.get(f"/operator/tenants/{tenant.slug}/progress").get_json()
    assert progress["status"] == SWITCHED and progress["cell"] == CELL_B
    assert progress["move"]["window_ended_at"] is not None
    shown = client.get(f"/operator/tenants/{tenant.slug}").text
    assert f'<td data-step="{SWITCHED}">Moved, old copy kept</td>' in shown
    assert '<td data-job-status="finished">Finished</td>' in shown
    # Moved there already: a second request is refused on the form, nothing is queued.
    again = client.post(
        f"/operator/tenants/{tenant.slug}/move", data={"cell": CELL_B, "csrf_token": csrf_token_from(shown)}
    )
    assert again.status_code == 422 and "already lives in this cell" in again.text
    assert len(_move_requests(tenant)) == 1


def test_a_cell_nobody_declared_gets_a_form_message_and_queues_nothing(app, app_ctx, make_cell_tenant):
    client, _ = _operator(app, make_cell_tenant)
    tenant = make_cell_tenant(DEFAULT_CELL, "opbad")
    token = csrf_token_from(client.get(f"/operator/tenants/{tenant.slug}").text)
    waiting = queue().count

    answer = client.post(f"/operator/tenants/{tenant.slug}/move", data={"cell": "mars", "csrf_token": token})

    assert answer.status_code == 422
    assert 'role="alert">Choose one of the declared cells.' in answer.text
    assert queue().count == waiting and _move_requests(tenant) == []


def test_a_move_posted_without_the_csrf_token_is_refused_and_queues_nothing(app, app_ctx, make_cell_tenant):
    client, _ = _operator(app, make_cell_tenant)
    tenant = make_cell_tenant(DEFAULT_CELL, "opcsrf")
    waiting = queue().count

    for data in ({"cell": CELL_B}, {"cell": CELL_B, "csrf_token": "forged"}):
        assert client.post(f"/operator/tenants/{tenant.slug}/move", data=data).status_code == 400

    assert queue().count == waiting and _move_requests(tenant) == []


def test_the_cli_grants_and_revokes_the_mark_audited_and_a_revoked_operator_gets_404(
    app, app_ctx, make_cell_tenant
):
    client, staff = _operator(app, make_cell_tenant)
    assert client.get("/operator/").status_code == 200
    runner = app.test_cli_runner()

    revoked = runner.invoke(args=["operators", "revoke", staff.email])

    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["changed"] is True
    assert client.get("/operator/").status_code == 404
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.target == staff.email, AuditEntry.action.like("operator.%")
        )
    ).all()
    assert sorted(actions) == ["operator.granted", "operator.revoked"]
    assert runner.invoke(args=["operators", "grant", "nobody-here@example.com"]).exit_code != 0


def test_the_operator_pages_show_no_text_outside_the_translation_layer(
    app,
    app_ctx,
    make_cell_tenant,
    pseudo_locale,  # noqa: F811
):
    client, staff = _operator(app, make_cell_tenant)
    tenant = make_cell_tenant(DEFAULT_CELL, "oppseudo")
    move_tenant(tenant.slug, CELL_B, actor=staff.email)
    # Times are formatted by Babel (its month names, not our text), as in tests/i18n.
    data = {tenant.slug, tenant.tenant.name, staff.email, "→", format_date(date.today(), "MMM", locale="en")}
    data |= set(Locale.parse("eo").months["format"]["abbreviated"].values())
    for cell in cell_directory():
        data |= {cell.name, cell.label, cell.region}

    pages = pseudo_pages(
        client, {"tenants": f"/operator/?q={tenant.slug}", "tenant": f"/operator/tenants/{tenant.slug}"}
    )
    refused = client.post(
        f"/operator/tenants/{tenant.slug}/move",
        data={"cell": "mars", "csrf_token": csrf_token_from(pages["tenant"])},
        headers=HEADERS,
    )

    assert refused.status_code == 422
    for name, text in {**pages, "refused": refused.text}.items():
        assert page_leaks(text, data) == [], name
