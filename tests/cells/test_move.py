"""Moving a live tenant between cells (``saas tenants move``): under write load no write is lost and none
is accepted in the read-only window without being applied; a move failed halfway leaves the tenant
working in its old cell and its rerun completes; the data ends up on the new cell's server; another
tenant is never touched. Checked on the servers, as the tenant's own login."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import ProgrammingError

from saas.auth.models import Membership
from saas.cells import DEFAULT_CELL
from saas.db import TenantSession, db, tenant_pools
from saas.errors import Conflict
from saas.tenant_connections import tenant_login_secret
from saas.tenants.models import Tenant
from saas.tenants.moves.models import COPIED, SWITCHED, TenantMove
from saas.tenants.moves.service import MoveFailed, move_tenant, purge_finished_moves
from saas.tenants.moves.window import WorkspaceBeingMoved, refuse_writes_while_moving
from tests.cells.conftest import CELL_B, CellServer
from tests.conftest import TenantFixture, bearer, csrf_token_from, login, make_token

pytestmark = pytest.mark.usefixtures("leave_no_old_copies", "leave_no_cell_b_tenants")

AUDIT_LOG = "config/audit_log.jsonl"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def leave_no_old_copies(app, cell_buckets) -> Iterator[None]:
    """After the module: drop the copies moves left behind (as the grace period's end would)."""
    yield
    with app.app_context():
        far = db.session.scalar(select(db.func.now())) + timedelta(days=3650)
        purge_finished_moves(actor="tests", now=far)


def _tenant_rows(server: CellServer, tenant: TenantFixture, sql: str) -> object:
    """``sql`` run on ``server`` directly, logged in as the tenant's role (its search path: its schema)."""
    settings = tenant_pools().settings
    secret = tenant_login_secret(settings.secret_key, tenant.ref.role_name, tenant.ref.login_version)
    url = server.engine.url.set(username=tenant.ref.role_name, password=secret)
    engine = create_engine(url, poolclass=None)
    try:
        with engine.begin() as connection:
            return connection.execute(text(sql)).all()
    finally:
        engine.dispose()


def _contact(client, token: str, name: str):
    return client.post(
        "/api/v1/contacts", json={"first_name": name, "last_name": "Move"}, headers=bearer(token)
    )


def _names(client, token: str) -> set[str]:
    names, cursor = set(), None
    while True:
        query = "/api/v1/contacts?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=bearer(token)).get_json()
        names |= {row["first_name"] for row in page["data"]}
        cursor = page.get("next_cursor") or (page.get("meta") or {}).get("next_cursor")
        if not cursor:
            return names


def _archive(tenant_id: str) -> dict[str, bytes]:
    from saas.exports.services import export_tenant_to_file

    buffer = BytesIO()
    export_tenant_to_file(db.session.get(Tenant, tenant_id), buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _comparable(entries: dict[str, bytes]) -> dict[str, bytes]:
    """An archive's entries but for what a move adds by design: the manifest's creation time and the
    audit log's own entry in it, and the move's lines in the audit log (checked separately)."""
    entries = dict(entries)
    manifest = json.loads(entries.pop("manifest.json"))
    manifest.pop("created_at")
    manifest["files"].pop(AUDIT_LOG, None)
    entries["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    lines = entries.pop(AUDIT_LOG, b"").splitlines()
    entries[AUDIT_LOG] = b"\n".join(line for line in lines if b'"tenant.move' not in line)
    return entries


class WriteLoad(threading.Thread):
    """Creates contacts through the API in a loop, remembering each answer's status by name."""

    def __init__(self, app, token: str) -> None:
        super().__init__(daemon=True)
        self.client, self.token = app.test_client(), token
        self.answers: list[tuple[str, int, str | None, str | None]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            name = f"load-{uuid.uuid4().hex[:10]}"
            answer = _contact(self.client, self.token, name)
            self.answers.append(
                (name, answer.status_code, answer.headers.get("Retry-After"), answer.mimetype)
            )

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=60)


def test_a_move_under_write_load_loses_no_write_and_applies_none_refused_in_the_window(
    app, app_ctx, servers, make_cell_tenant
):
    tenant = make_cell_tenant(DEFAULT_CELL, "mv")
    token, client = make_token(tenant), app.test_client()
    field = client.post(
        "/api/v1/custom-fields",
        json={"entity": "contacts", "key": "tier", "label": "Tier", "field_type": "text"},
        headers=bearer(token),
    )
    assert field.status_code == 201, field.get_json()
    for index in range(30):
        assert _contact(client, token, f"before-{index}").status_code == 201
    load = WriteLoad(app, token)
    seen_in_window: list[int] = []

    def hold_the_window(step: str) -> None:
        if step == "read_only":  # long enough for the load to hit the window
            count = len(load.answers)
            deadline = time.monotonic() + 10
            while len(load.answers) < count + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            seen_in_window.append(len(load.answers) - count)

    load.start()
    try:
        while len(load.answers) < 10:
            time.sleep(0.02)
        move = move_tenant(tenant.slug, CELL_B, actor="tests", on_step=hold_the_window)
        after_switch = len(load.answers)
        while len(load.answers) < after_switch + 10:
            time.sleep(0.02)
    finally:
        load.stop()

    assert move.step == SWITCHED and db.session.get(Tenant, tenant.tenant.id).cell == CELL_B
    statuses = {status for _, status, _, _ in load.answers}
    assert statuses <= {201, 503}, load.answers
    refused = [answer for answer in load.answers if answer[1] == 503]
    accepted = {name for name, status, _, _ in load.answers if status == 201}
    assert refused and seen_in_window[0] >= 3
    assert all(retry == "10" and mimetype == "application/problem+json" for _, _, retry, mimetype in refused)
    names = _names(client, token)
    assert accepted <= names  # no write lost, those after the switch included
    assert not {name for name, *_ in refused} & names  # none refused was applied
    assert len(accepted) + 30 == len(names)
    # The rows are on cell b's server, and the copy left on a takes no write.
    on_b = _tenant_rows(servers[CELL_B], tenant, "SELECT count(*) FROM contacts")[0][0]
    assert on_b == len(names)
    with pytest.raises(ProgrammingError, match="permission denied"):
        _tenant_rows(servers[DEFAULT_CELL], tenant, "INSERT INTO contacts (id) VALUES (gen_random_uuid())")
    assert move.report["window_seconds"] < move.report["total_seconds"]

    # Load stopped: the export before moving back and after is the same, byte for byte.
    before = _archive(tenant.tenant.id)
    back = move_tenant(tenant.slug, DEFAULT_CELL, actor="tests")
    assert back.step == SWITCHED and db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL
    after = _archive(tenant.tenant.id)
    assert _comparable(before) == _comparable(after)
    moved_lines = [line for line in after[AUDIT_LOG].splitlines() if b'"tenant.move' in line]
    assert len(moved_lines) == 4  # started and finished, twice
    assert _contact(client, token, "home-again").status_code == 201
    assert "home-again" in _names(client, token)


@pytest.mark.parametrize("failing_step", ["provisioned", "copied", "final_copied", "verified"])
def test_a_move_failed_halfway_leaves_the_tenant_working_in_its_old_cell_and_the_rerun_completes(
    app, app_ctx, servers, make_cell_tenant, failing_step
):
    tenant = make_cell_tenant(DEFAULT_CELL, "mk")
    token, client = make_token(tenant), app.test_client()
    assert _contact(client, token, "first").status_code == 201

    def fail(step: str) -> None:
        if step == failing_step:
            raise RuntimeError(f"killed at {step}")

    with pytest.raises(MoveFailed, match="still works in its old cell"):
        move_tenant(tenant.slug, CELL_B, actor="tests", on_step=fail)
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL
    move = db.session.scalar(select(TenantMove).where(TenantMove.tenant_id == tenant.tenant.id))
    assert move.error == f"RuntimeError: killed at {failing_step}" and move.step in {COPIED, "copying"}
    # Writable again at once in the old cell (the window's lock went with the failure).
    assert _contact(client, token, "during-failure").status_code == 201
    assert _names(client, token) == {"first", "during-failure"}

    again = move_tenant(tenant.slug, CELL_B, actor="tests")
    assert again.id == move.id and again.step == SWITCHED and again.attempts == 2 and again.error is None
    assert _names(client, token) == {"first", "during-failure"}
    rows = _tenant_rows(servers[CELL_B], tenant, "SELECT first_name FROM contacts ORDER BY 1")
    assert [row[0] for row in rows] == ["during-failure", "first"]
    # Running it once more changes nothing.
    assert move_tenant(tenant.slug, CELL_B, actor="tests").id == move.id
    actions = db.session.scalars(
        text("SELECT action FROM platform.audit_log WHERE tenant_id = :t ORDER BY id"),
        {"t": tenant.tenant.id},
    ).all()
    assert [a for a in actions if a.startswith("tenant.move")] == [
        "tenant.move_started",
        "tenant.move_failed",
        "tenant.moved",
    ]


def test_moving_one_tenant_never_touches_another(app, app_ctx, servers, make_cell_tenant):
    mover, other = make_cell_tenant(DEFAULT_CELL, "mx"), make_cell_tenant(DEFAULT_CELL, "my")
    client, browser = app.test_client(), app.test_client()
    mover_token, other_token = make_token(mover), make_token(other)
    assert _contact(client, other_token, "other-before").status_code == 201
    login(browser, mover.email, mover.password)
    new_contact = f"/t/{mover.slug}/contacts/new"
    csrf = csrf_token_from(browser.get(new_contact).text)
    answers: dict[str, object] = {}

    def write_both(step: str) -> None:
        if step == "read_only":
            answers["mover"] = _contact(client, mover_token, "refused").status_code
            answers["other"] = _contact(client, other_token, "other-during").status_code
            answers["page read"] = browser.get(f"/t/{mover.slug}/contacts").status_code
            answers["page write"] = browser.post(new_contact, data={"csrf_token": csrf, "last_name": "Paged"})

    move_tenant(mover.slug, CELL_B, actor="tests", on_step=write_both)
    page_write = answers.pop("page write")
    assert answers == {"mover": 503, "other": 201, "page read": 200}
    assert page_write.status_code == 503 and page_write.headers["Retry-After"] == "10"
    assert "This workspace is being moved to another region." in page_write.text
    assert "Paged" not in browser.get(f"/t/{mover.slug}/contacts").text
    assert _names(client, other_token) == {"other-before", "other-during"}
    assert not servers[CELL_B].has_schema(other.ref.schema_name)
    assert not servers[CELL_B].has_role(other.ref.role_name)
    assert db.session.get(Tenant, other.tenant.id).cell == DEFAULT_CELL
    # No page or API endpoint moves a tenant: only the operator's command does.
    assert not [
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "__module__", "").startswith("saas.tenants.moves")
    ]


def test_a_write_still_aimed_at_the_copy_left_behind_is_told_to_retry(app, app_ctx, make_cell_tenant):
    tenant = make_cell_tenant(DEFAULT_CELL, "ml")
    old = tenant.ref
    membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.tenant.id))
    move_tenant(tenant.slug, CELL_B, actor="tests")
    with app.test_request_context("/api/v1/contacts", method="POST"):
        g.tenant, g.membership = old, membership  # bound just before the switch, e.g. a cached principal
        try:
            with pytest.raises(WorkspaceBeingMoved):
                refuse_writes_while_moving(old, membership)
        finally:
            g.pop("tenant_session").close()
        g.tenant = db.session.get(Tenant, tenant.tenant.id).ref  # its retry, bound to the new cell
        try:
            refuse_writes_while_moving(g.tenant, membership)
        finally:
            g.pop("tenant_session").close()


def test_the_cli_moves_resumes_idempotently_and_purges_the_old_copy_after_the_grace_period(
    app, app_ctx, servers, make_cell_tenant
):
    tenant = make_cell_tenant(DEFAULT_CELL, "mc")
    token, client = make_token(tenant), app.test_client()
    sequences = (
        "SELECT relname FROM pg_class WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace"
    )
    sequence = sorted(row[0] for row in _tenant_rows(servers[DEFAULT_CELL], tenant, sequences))[0]
    advanced = f"SELECT nextval('{sequence}'), nextval('{sequence}'), nextval('{sequence}')"
    assert _tenant_rows(servers[DEFAULT_CELL], tenant, advanced)[0][-1] == 3
    runner = app.test_cli_runner()
    moved = runner.invoke(args=["tenants", "move", tenant.slug, "--to", CELL_B])
    assert moved.exit_code == 0, moved.output
    # The target's sequences go on from the source's values (setval), so new ids do not collide.
    assert _tenant_rows(servers[CELL_B], tenant, f"SELECT nextval('{sequence}')")[0][0] == 4
    first = json.loads(moved.stdout.strip().splitlines()[-1])
    assert first["step"] == SWITCHED and first["from"] == DEFAULT_CELL and first["to"] == CELL_B
    again = runner.invoke(args=["tenants", "move", tenant.slug, "--to", CELL_B])
    assert again.exit_code == 0 and json.loads(again.stdout.strip().splitlines()[-1])["id"] == first["id"]
    assert runner.invoke(args=["tenants", "move", tenant.slug, "--to", "mars"]).exit_code != 0
    born_in_b = make_cell_tenant(CELL_B, "mb")
    with pytest.raises(Conflict):
        move_tenant(born_in_b.slug, CELL_B, actor="tests")

    # The old copy waits for its grace period (CELL_MOVE_GRACE_HOURS), then the purge drops it.
    assert servers[DEFAULT_CELL].has_schema(tenant.ref.schema_name)
    nothing = runner.invoke(args=["tenants", "move", "--purge-finished"])
    assert nothing.exit_code == 0 and json.loads(nothing.stdout)["purged"] == []
    db.session.execute(
        text("UPDATE platform.tenant_moves SET purge_after = now() WHERE tenant_id = :t"),
        {"t": tenant.tenant.id},
    )
    db.session.commit()
    purged = runner.invoke(args=["tenants", "move", "--purge-finished"])
    assert purged.exit_code == 0, purged.output
    assert [entry["outcome"] for entry in json.loads(purged.stdout)["purged"]] == ["dropped"]
    assert not servers[DEFAULT_CELL].has_schema(tenant.ref.schema_name)
    assert not servers[DEFAULT_CELL].has_role(tenant.ref.role_name)
    assert servers[CELL_B].has_schema(tenant.ref.schema_name)
    assert client.get("/api/v1/contacts", headers=bearer(token)).status_code == 200


def test_rows_changed_during_the_first_copy_are_copied_again_by_bucket_not_the_whole_table(
    app, app_ctx, servers, make_cell_tenant
):
    from saas.db import tenant_session

    tenant = make_cell_tenant(DEFAULT_CELL, "mr")
    token, client = make_token(tenant), app.test_client()
    with tenant_session(tenant.ref) as session:
        session.execute(
            text(
                "INSERT INTO contacts (id, first_name, last_name) "
                "SELECT gen_random_uuid(), 'bulk-' || i, 'Move' FROM generate_series(1, 2000) i"
            )
        )

    def change_rows(step: str) -> None:
        if step == "copied":  # after the first copy, before the window
            with tenant_session(tenant.ref) as session:
                session.execute(
                    text(
                        "UPDATE contacts SET first_name = 'renamed-' || first_name "
                        "WHERE first_name IN ('bulk-1', 'bulk-2')"
                    )
                )
                session.execute(text("DELETE FROM contacts WHERE first_name IN ('bulk-3', 'bulk-4')"))
            assert _contact(client, token, "late").status_code == 201

    move = move_tenant(tenant.slug, CELL_B, actor="tests", on_step=change_rows)
    final = move.report["final_copy"]
    assert final["tables_copied"] == ["contacts"]
    assert 1 <= final["buckets_copied"] <= 5 and final["rows_copied"] < 100  # not the 1,999 rows
    names = _names(client, token)
    assert len(names) == 1999 and {"renamed-bulk-1", "renamed-bulk-2", "late"} <= names
    assert not {"bulk-1", "bulk-3", "bulk-4"} & names
    rows = _tenant_rows(servers[CELL_B], tenant, "SELECT count(*), count(DISTINCT first_name) FROM contacts")
    assert rows[0] == (1999, 1999)


KILLED_MOVER = """
import os, signal, sys
from saas import create_app
from saas.tenants.moves.service import move_tenant

def die(step):
    if step == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)  # no handler, no cleanup: as a crash or an OOM kill

with create_app().app_context():
    move_tenant(sys.argv[1], "b", actor="tests", on_step=die)
"""


@pytest.mark.parametrize("killed_at", ["copied", "final_copied"])
def test_a_mover_process_killed_halfway_leaves_the_tenant_writable_in_its_old_cell_and_the_rerun_completes(
    app, app_ctx, servers, cell_b_urls, make_cell_tenant, tmp_path, killed_at
):
    tenant = make_cell_tenant(DEFAULT_CELL, "mp")
    token, client = make_token(tenant), app.test_client()
    assert _contact(client, token, "first").status_code == 201
    cells_file = tmp_path / "cells.toml"
    cells_file.write_text(
        '[cells.default]\nregion = "eu-central"\nlabel = "EU"\n\n[cells.b]\nregion = "ru"\nlabel = "Russia"\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CELLS_FILE": str(cells_file),
        "CELL_B_DATABASE_URL": cell_b_urls[0],
        "CELL_B_REDIS_URL": cell_b_urls[1],
    }
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MOVER, tenant.slug, killed_at],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.tenant.id).cell == DEFAULT_CELL
    move = db.session.scalar(select(TenantMove).where(TenantMove.tenant_id == tenant.tenant.id))
    assert move.step in {"copying", COPIED} and move.attempts == 1
    # The dead mover's connections (and the window's lock with them) end as the server notices.
    status, deadline = None, time.monotonic() + 30
    while status != 201 and time.monotonic() < deadline:
        status = _contact(client, token, "after-the-kill").status_code
        if status != 201:
            assert status == 503
            time.sleep(0.2)
    assert status == 201

    again = move_tenant(tenant.slug, CELL_B, actor="tests")
    assert again.id == move.id and again.step == SWITCHED and again.attempts == 2
    assert {"first", "after-the-kill"} <= _names(client, token)
    rows = _tenant_rows(servers[CELL_B], tenant, "SELECT count(*) FROM contacts WHERE first_name = 'first'")
    assert rows[0][0] == 1


def test_a_second_mover_of_the_same_tenant_is_refused_while_the_first_runs(app_ctx, make_cell_tenant):
    tenant = make_cell_tenant(DEFAULT_CELL, "m2")
    refused: list[Exception] = []

    def second_mover(step: str) -> None:
        if step == "copied":
            with pytest.raises(Conflict, match="Another move") as raised:
                move_tenant(tenant.slug, CELL_B, actor="tests")
            refused.append(raised.value)

    assert move_tenant(tenant.slug, CELL_B, actor="tests", on_step=second_mover).step == SWITCHED
    assert len(refused) == 1


def test_a_public_write_refused_by_the_copy_left_behind_is_told_to_retry(app, app_ctx, make_cell_tenant):
    """Public pages (forms, tracking, the hub) bind their own tenant session and pass no tenant guard: a
    write of theirs that waited through the window meets the old copy's revoked privileges, and gets the
    503 with Retry-After that guarded writes get, not a 500."""
    tenant = make_cell_tenant(DEFAULT_CELL, "mp")
    old = tenant.ref
    move_tenant(tenant.slug, CELL_B, actor="tests")
    with app.test_request_context(f"/w/{tenant.slug}/events", method="POST"):
        g.tenant_session = TenantSession(old)  # bound just before the switch
        try:
            with pytest.raises(ProgrammingError) as refused:
                g.tenant_session.execute(
                    text("INSERT INTO contacts (id, first_name) VALUES (gen_random_uuid(), 'x')")
                )
            g.tenant_session.rollback()
            response = app.make_response(app.handle_user_exception(refused.value))
        finally:
            g.pop("tenant_session").close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    # A refusal of a tenant no move concerns stays what it is: an error, logged, 500.
    other = make_cell_tenant(DEFAULT_CELL, "mq")
    with app.test_request_context(f"/w/{other.slug}/events", method="POST"):
        g.tenant_session = TenantSession(other.ref)
        try:
            with pytest.raises(ProgrammingError) as refused:
                g.tenant_session.execute(text("CREATE TABLE public.intruder (id int)"))
            g.tenant_session.rollback()
            assert app.make_response(app.handle_user_exception(refused.value)).status_code == 500
        finally:
            g.pop("tenant_session").close()
