"""``saas billing ...``: catalogue sync, usage reporting and reconciliation, setup retries and purging
lapsed tenants."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.db import db
from saas.errors import SaasError
from saas.tenants.models import Tenant


@click.group(
    "billing", cls=AppGroup, help="Stripe billing: catalogue, usage, reconciliation, lapsed tenants."
)
def billing_group() -> None:
    pass


def _fail(error: SaasError) -> None:
    click.echo(json.dumps({"error": error.detail}), err=True)
    sys.exit(2)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        _fail(SaasError(f"No tenant '{slug}'."))
    return tenant


@billing_group.command("sync", help="Create or update Stripe meters, products and prices from the tables.")
def sync_command() -> None:
    from saas.audit import record_audit
    from saas.billing.catalog import sync_catalog

    try:
        report = sync_catalog(db.session)
    except SaasError as error:
        _fail(error)
    record_audit(db.session, "billing.catalog_synced", actor="cli", details=report.as_dict())
    db.session.commit()
    click.echo(json.dumps(report.as_dict()))


@billing_group.command("report-usage", help="Report unreported ledger rows to Stripe meter events.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
def report_usage_command(batch_size: int) -> None:
    from saas.billing.usage import report_usage_to_stripe

    try:
        report = report_usage_to_stripe(batch_size=batch_size)
    except SaasError as error:
        _fail(error)
    click.echo(json.dumps(report.as_dict()))


@billing_group.command(
    "reconcile", help="Compare a tenant's ledger with Stripe's meter summaries; exit 1 on any difference."
)
@click.argument("slug")
@click.option(
    "--since", type=click.DateTime(), help="Window start (UTC); default: the billing period's start."
)
@click.option("--until", type=click.DateTime(), help="Window end (UTC); default: now.")
@click.option("--json", "as_json", is_flag=True)
def reconcile_command(slug: str, since: datetime | None, until: datetime | None, as_json: bool) -> None:
    from datetime import UTC

    from saas.billing.usage import reconcile_usage

    tenant = _tenant(slug)
    try:
        result = reconcile_usage(
            db.session,
            tenant.id,
            since.replace(tzinfo=UTC) if since else None,
            until.replace(tzinfo=UTC) if until else None,
        )
    except SaasError as error:
        _fail(error)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(f"{slug}: {result.start.isoformat()} .. {result.end.isoformat()}")
        click.echo(f"{'meter':<20} {'ledger':>12} {'pending':>10} {'stripe':>12} {'difference':>12}")
        for meter in result.meters:
            click.echo(
                f"{meter.meter:<20} {meter.ledger_reported:>12} {meter.ledger_pending:>10} "
                f"{meter.stripe:>12} {meter.difference:>12}"
            )
        click.echo(
            "no differences" if not result.differences else f"{len(result.differences)} meter(s) differ"
        )
    if result.differences:
        sys.exit(1)


@billing_group.command(
    "sample-contacts", help="Sample every billed tenant's contact count (contacts_stored)."
)
def sample_contacts_command() -> None:
    from saas.billing.jobs import sample_contacts_stored

    click.echo(json.dumps(sample_contacts_stored()))


@billing_group.command("retry-setup", help="Set up Stripe billing for tenants still without a subscription.")
def retry_setup_command() -> None:
    from saas.billing.jobs import sweep_pending_setups

    click.echo(json.dumps(sweep_pending_setups()))


@billing_group.command("purge-lapsed", help="Delete tenants read-only for longer than the grace period.")
@click.option("--grace-days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--yes", is_flag=True, help="Really purge; without it, only list the candidates.")
def purge_lapsed_command(grace_days: int, yes: bool) -> None:
    from saas.billing.services import lapsed_beyond_grace, purge_lapsed_tenant

    tenants = lapsed_beyond_grace(db.session, grace_days)
    slugs = [tenant.slug for tenant in tenants]
    if yes:
        for tenant in tenants:
            purge_lapsed_tenant(db.session, tenant, actor="cli")
    click.echo(json.dumps({"grace_days": grace_days, "purged" if yes else "would_purge": slugs}))
