"""Periodic jobs walk the tenants through one helper: the right tenants, each failure isolated, and a
report that accounts for every tenant. A tenant "behind" is really left one revision behind the code's
head; a lapsed tenant has a real billing account in the read-only state."""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta

import pytest
from rq.exceptions import InvalidJobOperation
from sqlalchemy import delete, func, select, text

from saas.billing.jobs import sample_contacts_stored
from saas.billing.models import BillingAccount, Plan
from saas.billing.services import open_account
from saas.db import db, tenant_pools, tenant_session
from saas.exports import services as exports
from saas.exports.models import Export
from saas.jobs import make_worker, queue
from saas.jobs.fanout import (
    MODULE_OFF,
    NO_TENANT,
    NOT_IN_PLAN,
    NOT_MIGRATED,
    READ_ONLY,
    SCHEMA_UNKNOWN,
    for_each_tenant,
    status_reason,
)
from saas.migrations import current_revision, head_revision, script_directory
from saas.modules.core import services as core
from saas.modules.core.models import Contact
from saas.modules.marketing.sending import dispatch_due_campaigns
from saas.modules.privacy.retention import apply_all_retention
from saas.modules.service import sla
from saas.modules.service.models import Ticket
from saas.modules.service.tickets import tickets
from saas.modules.switches import set_module_enabled
from saas.tenants.migrations import migrate_tenant, record_versions
from saas.tenants.models import Tenant
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 for the scheduled export

# A value that must never reach a log line: the failing tenant's error message quotes it.
SECRET_NAME = "Zelda Quartermain-Personal"
FAILING_SQL = f"SELECT no_such_column FROM platform.tenants WHERE name = '{SECRET_NAME}'"


@pytest.fixture
def leave_behind(app_ctx):
    """Really move a tenant one revision behind head, as during a rolling release; put back after."""
    moved = []

    def _leave_behind(fixture):
        older = script_directory("tenant").get_revision(head_revision("tenant")).down_revision
        result = migrate_tenant(fixture.ref, target=older)
        assert result.status == "upgraded" and result.to_version == older, result
        record_versions(db.session, [result])
        db.session.commit()
        moved.append(fixture.ref)
        return fixture

    yield _leave_behind
    record_versions(db.session, [migrate_tenant(ref) for ref in moved])
    db.session.commit()


@pytest.fixture
def behind(make_tenant, leave_behind):
    return leave_behind(make_tenant("behind"))


def _set_tenant(tenant_id: str, **values: object) -> None:
    tenant = db.session.get(Tenant, tenant_id)
    for name, value in values.items():
        setattr(tenant, name, value)
    db.session.commit()


@pytest.fixture
def schedule_export(app_ctx):
    """Schedule a tenant's daily export; switched off after the test, so no later run starts it (and
    kept 30 days, so no other test's expiry run meets the archive)."""
    scheduled: list[str] = []

    def _schedule(tenant_id: str) -> None:
        exports.set_schedule(tenant_id, frequency="daily", keep_days=30, enabled=True, actor="test")
        scheduled.append(tenant_id)

    yield _schedule
    for tenant_id in scheduled:
        exports.set_schedule(tenant_id, frequency="daily", keep_days=30, enabled=False, actor="test")


def _billing_account(tenant_id: str, status: str, plan_key: str | None = None) -> None:
    """The tenant's billing account in a Stripe status ("canceled": lapsed, as the webhook leaves it)."""
    account = open_account(db.session, tenant_id)
    account.status = status
    account.lapsed_at = datetime.now(UTC) if status == "canceled" else None
    account.plan_key = plan_key or account.plan_key
    db.session.commit()


@contextmanager
def billing_on(app):
    """Billing switched on for the jobs below; none of them calls Stripe, they read the accounts."""
    saved = app.config.get("STRIPE_API_KEY")
    app.config["STRIPE_API_KEY"] = "sk_test_fanout"
    try:
        yield
    finally:
        app.config["STRIPE_API_KEY"] = saved


def test_report_accounts_for_done_module_off_not_migrated_status_and_failed_tenants(
    make_tenant, behind, caplog
):
    on, also_on, off, unknown, suspended = (make_tenant(p) for p in ("on", "on2", "off", "unknown", "susp"))
    set_module_enabled(db.session, off.tenant.id, "marketing", False, actor="test")
    db.session.commit()
    _set_tenant(unknown.tenant.id, schema_version="f00dfeed")  # migrated by a newer release than this code
    _set_tenant(suspended.tenant.id, status="suspended")
    mine = [f.tenant.id for f in (on, also_on, off, unknown, suspended, behind)]
    # The first tenant visited fails, so the others prove the helper cleaned up after it.
    failing = min(on.tenant.id, also_on.tenant.id)
    visited: list[str] = []

    def work(ref):
        # Platform session and tenant session both used, as real jobs do.
        db.session.execute(select(Tenant.slug).where(Tenant.id == ref.id)).one()
        if ref.id == failing:
            db.session.execute(text(FAILING_SQL))
        with tenant_session(ref) as session:
            count = session.scalar(select(func.count()).select_from(Contact))
        visited.append(ref.id)
        return count

    with caplog.at_level(logging.INFO, logger="saas.jobs.fanout"):
        report = for_each_tenant("test_walk", work, module="marketing", tenant_ids=mine)

    other = ({on.tenant.id, also_on.tenant.id} - {failing}).pop()
    assert report.done == [other] and visited == [other] and report.results == {other: 0}
    assert report.failed == {failing: "ProgrammingError"}
    assert report.skipped == {
        off.tenant.id: MODULE_OFF,
        behind.tenant.id: NOT_MIGRATED,
        unknown.tenant.id: SCHEMA_UNKNOWN,
        suspended.tenant.id: status_reason("suspended"),
    }
    assert report.tenants == len(mine)
    assert report.as_dict() == {
        "tenants": 6,
        "done": 1,
        "skipped": report.skipped,
        "failed": {failing: "ProgrammingError"},
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(behind.tenant.id in m and "test_walk" in m for m in warnings)
    assert any(unknown.tenant.id in m for m in warnings)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        len(errors) == 1
        and failing in errors[0].getMessage()
        and "ProgrammingError" in errors[0].getMessage()
    )
    assert SECRET_NAME not in caplog.text and "no_such_column" not in caplog.text
    # The skipped tenant really is behind: its own schema records an older revision than the head.
    with tenant_pools().engine_for(behind.ref).connect() as connection:
        assert current_revision(connection, behind.ref.schema_name) != head_revision("tenant")


def test_without_a_module_a_module_off_tenant_is_walked_and_a_vanished_tenant_is_reported(make_tenant):
    off = make_tenant("off")
    set_module_enabled(db.session, off.tenant.id, "service", False, actor="test")
    db.session.commit()

    report = for_each_tenant("test_walk", lambda ref: ref.slug, tenant_ids=[off.tenant.id, "0000purged00"])
    assert report.done == [off.tenant.id] and report.results == {off.tenant.id: off.slug}
    assert report.skipped == {"0000purged00": NO_TENANT}  # named by the job, gone from the registry

    with pytest.raises(ValueError):
        for_each_tenant("test_walk", lambda ref: None, module="no-such-module")


@pytest.mark.usefixtures("s3")
def test_a_read_only_tenant_still_exports_and_gets_retention_but_sends_no_campaign_and_no_sla_work(
    app, make_tenant, schedule_export
):
    lapsed, paying = make_tenant("lapsed"), make_tenant("paying")
    lapsed_id, paying_id = lapsed.tenant.id, paying.tenant.id
    _billing_account(lapsed_id, "canceled")
    _billing_account(paying_id, "active")
    with tenant_session(lapsed.ref) as session:
        core.contacts.create(session, {"last_name": "Kept"})
    schedule_export(lapsed_id)

    with billing_on(app):
        campaigns = dispatch_due_campaigns()
        breaches = sla.mark_all_breaches()
        retention = apply_all_retention()
        contacts = sample_contacts_stored()
        scheduled = exports.run_due_schedules(datetime.now(UTC) + timedelta(days=1, minutes=1))

    assert campaigns["skipped"][lapsed_id] == READ_ONLY and paying_id not in campaigns["skipped"]
    assert breaches["skipped"][lapsed_id] == READ_ONLY and paying_id not in breaches["skipped"]
    for walked in (retention, contacts):
        assert lapsed_id not in walked["skipped"] and lapsed_id not in walked["failed"]
    assert scheduled["started"] >= 1
    assert lapsed_id not in scheduled["skipped"] and lapsed_id not in scheduled["failed"]
    # The export and retention jobs queued above for the lapsed tenant, for real. The sweeps queued one
    # for every tenant this test process has made; theirs are dropped unrun, or the test would take
    # longer with every test file before it.
    # A job already gone is fine: the ready-schema refill is queued under one fixed id, and two signups
    # in a row could list it twice (the first delete removes both).
    jobs = queue()
    for job in jobs.jobs:
        if job.args[:1] != (lapsed_id,):
            jobs.remove(job.id)
            with suppress(InvalidJobOperation):
                job.delete()
    make_worker().work(burst=True)
    db.session.expire_all()
    export = db.session.scalar(
        select(Export).where(Export.tenant_id == lapsed_id, Export.kind == "scheduled")
    )
    assert export is not None and export.status == "done" and export.rows_written >= 1


@pytest.mark.usefixtures("s3")
def test_a_scheduled_export_of_a_tenant_not_migrated_yet_waits_for_a_later_run(behind, schedule_export):
    tenant_id = behind.tenant.id
    schedule_export(tenant_id)
    due_at = exports.get_schedule(tenant_id).next_run_at

    result = exports.run_due_schedules(due_at + timedelta(minutes=1))

    assert result["skipped"][tenant_id] == NOT_MIGRATED
    db.session.expire_all()
    assert exports.get_schedule(tenant_id).next_run_at == due_at  # still due once migrated
    assert db.session.scalar(select(Export).where(Export.tenant_id == tenant_id)) is None
    make_worker().work(burst=True)  # exports of other tenants' due schedules, if any


def test_sla_job_reports_a_tenant_behind_head_as_skipped_and_accounts_for_every_tenant(
    make_tenant, leave_behind
):
    current, behind = make_tenant("current"), make_tenant("behind")
    for fixture in (current, behind):
        with tenant_session(fixture.ref) as session:
            ticket = tickets.create(session, {"subject": "Late"})
            ticket.resolution_due_at = datetime(2026, 1, 2, tzinfo=UTC)
    leave_behind(behind)

    result = sla.mark_all_breaches()

    assert result["skipped"][behind.tenant.id] == NOT_MIGRATED
    assert current.tenant.id not in result["skipped"] and current.tenant.id not in result["failed"]
    assert result["resolution"] >= 1
    everyone = db.session.scalar(select(func.count()).select_from(Tenant))
    assert result["tenants"] == everyone == result["done"] + len(result["skipped"]) + len(result["failed"])
    assert _late_ticket_breached(current) and not _late_ticket_breached(behind)


def _late_ticket_breached(fixture) -> bool:
    with tenant_session(fixture.ref) as session:
        return session.scalar(select(Ticket.resolution_breached).where(Ticket.subject == "Late"))


@pytest.fixture
def sales_only_plan(app_ctx):
    """A plan without the marketing module; removed after the test with the accounts on it."""
    plan = Plan(key=f"sales-{uuid.uuid4().hex[:8]}", name="Sales only", currency="eur", active=False)
    plan.included_modules = ["sfa", "service"]
    db.session.add(plan)
    db.session.commit()
    yield plan.key
    db.session.execute(delete(BillingAccount).where(BillingAccount.plan_key == plan.key))
    db.session.execute(delete(Plan).where(Plan.key == plan.key))
    db.session.commit()


def test_a_tenant_whose_plan_leaves_out_the_module_is_skipped_as_not_in_plan(
    app, make_tenant, sales_only_plan
):
    sales, full = make_tenant("sales"), make_tenant("full")
    _billing_account(sales.tenant.id, "active", plan_key=sales_only_plan)
    _billing_account(full.tenant.id, "active")
    mine = [sales.tenant.id, full.tenant.id]

    with billing_on(app):
        marketing = for_each_tenant("test_walk", lambda ref: ref.id, module="marketing", tenant_ids=mine)
        service = for_each_tenant("test_walk", lambda ref: ref.id, module="service", tenant_ids=mine)
        core_walk = for_each_tenant("test_walk", lambda ref: ref.id, module="core", tenant_ids=mine)

    assert marketing.skipped == {sales.tenant.id: NOT_IN_PLAN} and marketing.done == [full.tenant.id]
    assert service.skipped == {} and sorted(service.done) == sorted(mine)
    assert core_walk.skipped == {} and sorted(core_walk.done) == sorted(mine)  # always on, in every plan
