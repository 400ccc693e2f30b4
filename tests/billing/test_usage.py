"""The usage ledger: idempotent recording, reporting to Stripe meter events exactly once at Stripe even
when the job is killed and re-run in parallel, and reconciliation with Stripe's summaries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text

from saas.billing.models import UsageRecord
from saas.billing.usage import reconcile_usage, record_contacts_stored, record_usage, report_usage_to_stripe
from saas.db import db
from tests.billing.conftest import API_KEY, WEBHOOK_SECRET, account_of
from tests.conftest import login
from tests.fake_stripe import ROOT


def _rows(tenant, meter: str | None = None) -> list[UsageRecord]:
    db.session.expire_all()
    query = select(UsageRecord).where(UsageRecord.tenant_id == tenant.tenant.id).order_by(UsageRecord.id)
    if meter:
        query = query.where(UsageRecord.meter_key == meter)
    return list(db.session.scalars(query))


def test_the_same_fact_recorded_twice_is_one_ledger_row(tenant_a, tenant_b):
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert record_usage(tenant_a.tenant.id, "emails_sent", "message-1", 1, at) is True
    assert record_usage(tenant_a.tenant.id, "emails_sent", "message-1", 1, at + timedelta(hours=3)) is False
    assert record_usage(tenant_a.tenant.id, "emails_sent", "message-1", 1, at + timedelta(days=1)) is True
    assert record_usage(tenant_b.tenant.id, "emails_sent", "message-1", 1, at) is True

    rows = _rows(tenant_a, "emails_sent")
    assert [(r.period.isoformat(), r.quantity) for r in rows] == [("2026-11-20", 1), ("2026-11-21", 1)]
    assert rows[0].identifier.startswith(f"{tenant_a.tenant.id}-emails_sent-20261120-")
    assert len({r.identifier for r in rows + _rows(tenant_b, "emails_sent")}) == 3


def test_a_user_signing_in_twice_a_day_is_one_active_user(client, tenant_a):
    for _ in range(2):
        assert login(client, tenant_a.email, tenant_a.password).status_code == 302

    assert [r.quantity for r in _rows(tenant_a, "active_users")] == [1]


def test_signing_up_counts_the_owner_as_an_active_user(client, app_ctx, mail_sink):
    from saas.tenants.models import Tenant
    from tests.tenants.conftest import sign_up

    slug = f"signup-{os.urandom(3).hex()}"
    response = sign_up(client, mail_sink, name="Signup Co", slug=slug, admin_email=f"{slug}@example.com")
    assert response.status_code == 302
    tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    rows = db.session.scalars(
        select(UsageRecord).where(UsageRecord.tenant_id == tenant_id, UsageRecord.meter_key == "active_users")
    ).all()
    assert [r.quantity for r in rows] == [1]


def test_contacts_stored_keeps_the_days_high_water_mark_above_the_free_allowance(tenant_a):
    at = datetime.now(UTC)
    for level in (900, 1200, 1100, 1500, 1300):
        record_usage(tenant_a.tenant.id, "contacts_stored", "contacts", level, at)
    assert record_contacts_stored(tenant_a.ref) == 0  # a new tenant holds no contacts

    [row] = _rows(tenant_a, "contacts_stored")
    assert row.quantity == 500  # 1,500 at the highest, the first 1,000 free


def test_a_gauge_day_is_reported_only_once_it_is_over(tenant_a):
    now = datetime.now(UTC)
    report_usage_to_stripe()  # whatever earlier tests left
    record_usage(tenant_a.tenant.id, "contacts_stored", "contacts", 1010, now)
    record_usage(tenant_a.tenant.id, "contacts_stored", "contacts", 1020, now - timedelta(days=1))

    report = report_usage_to_stripe()

    assert report.sent == 1
    reported = {r.period: r.reported_at is not None for r in _rows(tenant_a, "contacts_stored")}
    assert reported == {now.date(): False, (now - timedelta(days=1)).date(): True}


def test_a_row_stripe_refuses_is_retried_later_with_backoff(tenant_a):
    report_usage_to_stripe()
    account = account_of(tenant_a)
    real_customer, account.stripe_customer_id = account.stripe_customer_id, "cus_gone"
    db.session.commit()
    try:
        record_usage(tenant_a.tenant.id, "emails_sent", "message-x", 1)
        first = report_usage_to_stripe()
        again = report_usage_to_stripe()
        [row] = _rows(tenant_a, "emails_sent")
    finally:
        db.session.execute(delete(UsageRecord).where(UsageRecord.tenant_id == tenant_a.tenant.id))
        account_of(tenant_a).stripe_customer_id = real_customer
        db.session.commit()

    assert (first.failed, first.sent, again.failed, again.sent) == (1, 0, 0, 0)
    assert (
        row.reported_at is None and row.attempts == 1 and row.last_error == "InvalidRequestError (HTTP 404)"
    )
    assert row.next_attempt_at >= row.recorded_at + timedelta(seconds=30)  # the first backoff step


def _cli(app, fake_stripe, *args: str, application_name: str = "billing-tests") -> subprocess.Popen:
    """``saas billing ...`` in its own process, as cron would run it, against the same database."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    database_url += ("&" if "?" in database_url else "?") + f"application_name={application_name}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": app.config["REDIS_URL"],
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake_stripe.base,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "saas.cli", "billing", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sessions_named(application_name: str) -> int:
    # Each look in a transaction of its own: PostgreSQL keeps one pg_stat_activity snapshot per transaction.
    try:
        return db.session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name},
        )
    finally:
        db.session.rollback()


def _wait_for(condition, what: str, limit: float = 120.0) -> None:
    # A safety net against hanging forever, not a timing assertion.
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_reporting_killed_halfway_then_run_twice_in_parallel_sends_each_event_once(
    app, fake_stripe, tenant_a
):
    report_usage_to_stripe()  # a clean queue: only this test's rows below
    customer = account_of(tenant_a).stripe_customer_id
    now = datetime.now(UTC)
    for number in range(1000):
        record_usage(tenant_a.tenant.id, "emails_sent", f"message-{number}", 1, now)
    identifiers = {r.identifier for r in _rows(tenant_a, "emails_sent")}
    assert len(identifiers) == 1000

    # Run 1: the fake stalls after 550 more events (mid-batch: 5 batches of 100 done); then kill -9.
    before = fake_stripe.control("GET", "meter_events/stats")["accepted"]
    fake_stripe.control("POST", "meter_events/stall", after=before + 550)
    killed = _cli(app, fake_stripe, "report-usage", "--batch-size", "100", application_name="billing-killed")
    _wait_for(lambda: fake_stripe.control("GET", "meter_events/stats")["waiting"] == 1, "the stalled request")
    killed.kill()
    killed.communicate()
    # The killed run's transaction (and its row locks) end with its database session.
    try:
        _wait_for(lambda: _sessions_named("billing-killed") == 0, "the killed run's database session to end")
    finally:
        fake_stripe.control("POST", "meter_events/release")
    assert sum(r.reported_at is not None for r in _rows(tenant_a, "emails_sent")) == 500

    # Runs 2 and 3, at the same time.
    parallel = [_cli(app, fake_stripe, "report-usage", "--batch-size", "100") for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in parallel]
    assert [process.returncode for process in parallel] == [0, 0], outputs
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]

    received = fake_stripe.control("GET", "meter_events")
    ours = [e for e in received["accepted"] if e["identifier"] in identifiers]
    assert len(ours) == 1000 and {e["identifier"] for e in ours} == identifiers
    assert all(e["payload"] == {"stripe_customer_id": customer, "value": "1"} for e in ours)
    # Re-sends happened only for the killed batch's uncommitted rows (and the stalled request), and
    # Stripe refused them as duplicates: the parallel runs never sent the same row twice.
    resent = sum(received["attempts"][i] for i in identifiers) - 1000
    assert 0 < resent <= 101
    assert sum(r["duplicates"] for r in reports) == resent - 1
    assert all(r.reported_at is not None for r in _rows(tenant_a, "emails_sent"))

    reconciliation = reconcile_usage(db.session, tenant_a.tenant.id)
    emails = next(m for m in reconciliation.meters if m.meter == "emails_sent")
    assert (emails.ledger_reported, emails.ledger_pending, emails.stripe) == (1000, 0, 1000)
    assert reconciliation.differences == []
    command = app.test_cli_runner().invoke(args=["billing", "reconcile", tenant_a.slug])
    assert command.exit_code == 0 and "no differences" in command.output


def test_reconcile_reports_a_difference_and_exits_1(app, tenant_a):
    report_usage_to_stripe()
    record_usage(tenant_a.tenant.id, "emails_sent", "message-1", 1)
    report_usage_to_stripe()
    # A row marked reported that Stripe never received (say, restored from a backup).
    db.session.execute(
        UsageRecord.__table__.insert().values(
            identifier=f"{tenant_a.tenant.id}-lost", tenant_id=tenant_a.tenant.id, meter_key="emails_sent",
            period=datetime.now(UTC).date(), subject="lost", quantity=4, occurred_at=datetime.now(UTC),
            attempts=0, reported_at=func.now(),
        )
    )  # fmt: skip
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["billing", "reconcile", tenant_a.slug, "--json"])

    assert result.exit_code == 1
    emails = next(m for m in json.loads(result.output)["meters"] if m["meter"] == "emails_sent")
    assert (emails["ledger_reported"], emails["stripe"], emails["difference"]) == (5, 1, -4)
