"""Every route that takes a record id, walked from the app's URL map: tenant B, with its own token or
session, aims each method of each route at tenant A's ids. Nothing may succeed, no answer may carry
A's ids, and A's rows (its schema and its platform rows) must be unchanged afterwards.

New routes are covered without editing this file as long as their id argument names its table
(``deal_id`` → ``deals``, ``record_id`` after ``/deals/`` → ``deals``); a route whose id this test
cannot place fails it, so that no route escapes the matrix.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from werkzeug.routing import Rule

from saas.api.credentials import create_client
from saas.auth.members import invite
from saas.auth.models import Membership
from saas.db import db, tenant_session
from saas.exports.models import ArchiveImport, Export
from saas.modules.core import objects
from tests.conftest import bearer, csrf_token_from, login, make_token
from tests.exports.fixtures import fill_every_table

# Id arguments whose table is not their own name.
TABLE_OF_ARGUMENT = {
    "job_id": "import_jobs",
    "import_id": "vendor_imports",
    "request_id": "privacy_requests",
    "subscription_id": "webhook_subscriptions",
    "client_id": "oauth_clients",
    "client_pk": "oauth_clients",
    "token_id": "api_tokens",
    "rate_id": "exchange_rates",
    "macro_id": "service_macros",
    "thread_id": "mail_threads",
    "attachment_id": "mail_attachments",
    "team_id": "booking_teams",
    "restore_id": "archive_imports",
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
OBJECT_KEY, OBJECT_TABLE = "vehicle", "co_vehicle"
"""The custom object the export fixture gives A; B defines one of the same key, so that B's lookups of A's
record ids run in B's own table of that name."""


def _tables(schema: str, *with_columns: str, session=None) -> list[str]:
    """The tables of ``schema`` that have all of ``with_columns`` (a tenant's: through its own session)."""
    return list(
        (session or db.session).scalars(
            text(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = :schema "
                "GROUP BY table_name HAVING array_agg(column_name::text) @> CAST(:columns AS text[])"
            ),
            {"schema": schema, "columns": list(with_columns)},
        )
    )


def _table_for(rule: Rule, argument: str, tables: set[str]) -> str | None:
    if argument in TABLE_OF_ARGUMENT:
        return TABLE_OF_ARGUMENT[argument]
    if argument == "record_id" and "<object_key>" in rule.rule:
        return OBJECT_TABLE if OBJECT_TABLE in tables else None
    if argument == "record_id":
        before = rule.rule.split(f"<uuid:{argument}>")[0].rstrip("/").rsplit("/", 1)[-1]
        return before if before in tables else None
    base = argument.removesuffix("_id")
    return next((name for name in (f"{base}s", f"{base}es", base) if name in tables), None)


def _md5(source: str, session=None, **params: str) -> str:
    return (session or db.session).scalar(
        text(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {source}"), params
    )


def _fingerprint(tenant) -> dict[str, str]:
    """An md5 of every row of tenant A, in its schema and in the platform: any change shows here."""
    schema = tenant.schema_name
    with tenant_session(tenant.ref) as own:
        prints = {table: _md5(f'"{schema}"."{table}" t', own) for table in _tables(schema, session=own)}
    for table in _tables("platform", "tenant_id"):
        if table != "audit_log":  # B's refused attempts may be audited, under B
            prints[f"platform.{table}"] = _md5(f'platform."{table}" t WHERE t.tenant_id = :id', id=tenant.id)
    return prints


def _id_routes(app, prefix: str) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix) and any(conv == "UUIDConverter" for conv in _converters(rule))
    ]


def _converters(rule: Rule) -> list[str]:
    return [type(converter).__name__ for converter in rule._converters.values()]


@pytest.fixture
def a_ids(app_ctx, tenant_a, tenant_b):
    """One id of every table of A: its tenant tables (rows in all of them) and its platform rows
    (membership, API token and client, invitation, export, archive import)."""
    fill_every_table(tenant_a)
    with tenant_session(tenant_b.ref) as session:
        objects.define_object(session, {"key": OBJECT_KEY, "singular": "Vehicle", "plural": "Vehicles"})
    tenant = tenant_a.tenant
    owner = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
    make_token(tenant_a)
    create_client(db.session, tenant.id, owner.user_id, "matrix", ["contacts:read"], ["contacts:read"])
    invite(db.session, owner, "invited@alpha.example", "member")
    db.session.add(
        Export(
            tenant_id=tenant.id,
            kind="manual",
            requested_by=tenant_a.email,
            status="done",
            tables_total=1,
            tables_done=1,
            rows_written=1,
        )
    )
    db.session.add(
        ArchiveImport(
            kind="restore", tenant_id=tenant.id, requested_by=owner.user_id, status="done", errors={},
            secrets_to_reenter=[], tables_total=1, tables_done=1, rows_loaded=1, size_bytes=1,
        )
    )  # fmt: skip
    db.session.commit()
    ids: dict[str, str] = {}
    for table in _tables("platform", "id", "tenant_id"):
        row = db.session.scalar(
            text(f'SELECT id FROM platform."{table}" WHERE tenant_id = :id LIMIT 1'), {"id": tenant.id}
        )
        if row is not None:
            ids[table] = str(row)
    with tenant_session(tenant.ref) as own:
        for table in _tables(tenant.schema_name, "id", session=own):
            ids[table] = str(own.scalar(text(f'SELECT id FROM "{tenant.schema_name}"."{table}" LIMIT 1')))
    return ids


def _urls(
    app, prefix: str, slug: str | None, a_ids: dict[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(method, url) aimed at A's ids for every id route under ``prefix``, and the routes no id fits."""
    tables = set(a_ids)
    aimed, unplaced = [], []
    for rule in _id_routes(app, prefix):
        values: dict[str, str] = {}
        for argument, converter in rule._converters.items():
            if type(converter).__name__ == "UUIDConverter":
                table = _table_for(rule, argument, tables)
                if table is None or table not in a_ids:
                    unplaced.append(f"{rule.rule} ({argument})")
                    break
                values[argument] = a_ids[table]
            elif argument == "slug":
                values[argument] = slug
            elif argument == "object_key":
                values[argument] = OBJECT_KEY
            else:
                values[argument] = "x"  # a token or file name: any value reaches the lookup
        else:
            url = rule.rule
            for argument, value in values.items():
                url = re.sub(rf"<(?:[a-z]+:)?{argument}>", value, url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                aimed.append((method, url))
    return aimed, unplaced


def _assert_refused(response, method: str, url: str, a_ids: dict[str, str]) -> None:
    assert 400 <= response.status_code < 500, (method, url, response.status_code)
    body = response.get_data(as_text=True)
    for leaked in a_ids.values():
        if len(leaked) == 36 and leaked not in url:  # uuids only; a 404 page may repeat its URL
            assert leaked not in body, (method, url, "answer carries one of A's ids")


def test_tenant_b_token_cannot_reach_a_through_any_api_route(app, client, tenant_a, tenant_b, a_ids):
    before = _fingerprint(tenant_a.tenant)
    aimed, unplaced = _urls(app, "/api/", None, a_ids)
    assert not unplaced, f"routes whose id this matrix cannot place: {unplaced}"
    assert len(aimed) > 20
    headers = bearer(make_token(tenant_b))
    for method, url in aimed:
        response = client.open(
            url, method=method, headers=headers, json={} if method in WRITE_METHODS else None
        )
        _assert_refused(response, method, url, a_ids)
    db.session.expire_all()
    assert _fingerprint(tenant_a.tenant) == before


def test_tenant_b_user_cannot_reach_a_through_any_page(app, client, tenant_a, tenant_b, a_ids):
    before = _fingerprint(tenant_a.tenant)
    assert login(client, tenant_b.email, tenant_b.password).status_code == 302
    token = csrf_token_from(client.get(f"/t/{tenant_b.slug}/contacts").text)
    for slug in (tenant_b.slug, tenant_a.slug):  # A's ids in B's workspace, and A's workspace itself
        aimed, unplaced = _urls(app, "/t/", slug, a_ids)
        assert not unplaced, f"routes whose id this matrix cannot place: {unplaced}"
        assert len(aimed) > 20
        for method, url in aimed:
            data = {"csrf_token": token} if method in WRITE_METHODS else None
            response = client.open(url, method=method, data=data)
            _assert_refused(response, method, url, a_ids)
            if slug == tenant_a.slug:
                assert response.status_code == 404, (method, url, response.status_code)
    db.session.expire_all()
    assert _fingerprint(tenant_a.tenant) == before


def test_the_matrix_places_ids_by_their_names(app):
    """The placement rules themselves, so that a silent mismatch cannot empty the matrix."""
    tables = {"deals", "stages", "import_jobs", "privacy_requests", "contacts"}
    by_rule = {rule.rule: rule for rule in app.url_map.iter_rules()}
    assert _table_for(by_rule["/api/v1/deals/<uuid:record_id>"], "record_id", tables) == "deals"
    assert _table_for(by_rule["/api/v1/stages/<uuid:stage_id>"], "stage_id", tables) == "stages"
    assert _table_for(by_rule["/api/v1/imports/<uuid:job_id>"], "job_id", tables) == "import_jobs"
    assert _table_for(by_rule["/api/v1/deals/<uuid:record_id>"], "record_id", {"contacts"}) is None
