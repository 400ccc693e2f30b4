"""The usage ledger: billable events recorded locally first, reported to Stripe meter events by a job,
and reconciled against what Stripe aggregated.

Every row has a deterministic identifier built from (tenant, meter, period, subject), so recording the
same fact twice is a no-op, and Stripe deduplicates a re-sent meter event by the same identifier:
reporting is at-least-once on our side and exactly-once at Stripe.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import stripe
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from saas.billing.catalog import all_meters, plan_prices
from saas.billing.models import BillingAccount, Meter, UsageRecord
from saas.billing.stripe_client import billing_enabled, stripe_api, stripe_error_summary
from saas.db import TenantRef, db, tenant_session
from saas.errors import NotFound, ValidationError
from saas.i18n import N_

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


def usage_identifier(tenant_id: str, meter: str, period: date, subject: str) -> str:
    """Stripe's meter event identifier for one fact: readable prefix, hashed subject, at most 100 chars."""
    digest = hashlib.sha256(
        f"{tenant_id}\x1f{meter}\x1f{period.isoformat()}\x1f{subject}".encode()
    ).hexdigest()
    return f"{tenant_id}-{meter}-{period:%Y%m%d}-{digest[:32]}"


def _record(
    connection: Connection, tenant_id: str, meter: str, subject: str, quantity: int, at: datetime
) -> bool:
    if quantity < 0:
        raise ValidationError("Usage cannot be negative.", {"quantity": ["Use 0 or more."]})
    if at.tzinfo is None:
        raise ValueError("usage time must be timezone-aware")
    found = connection.execute(select(Meter.kind, Meter.free_allowance).where(Meter.key == meter)).first()
    if found is None:
        raise NotFound(N_("No meter '%(meter)s'.", meter=meter))
    kind, allowance = found
    # A gauge's billable quantity is what exceeds the free allowance, at the day's high-water mark.
    billable = quantity if kind == "event" else max(0, quantity - allowance)
    if billable == 0:
        return False
    period = at.astimezone(UTC).date()
    statement = insert(UsageRecord).values(
        identifier=usage_identifier(tenant_id, meter, period, subject),
        tenant_id=tenant_id,
        meter_key=meter,
        period=period,
        subject=subject[:200],
        quantity=billable,
        occurred_at=at,
    )
    if kind == "event":
        statement = statement.on_conflict_do_nothing(index_elements=[UsageRecord.identifier])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[UsageRecord.identifier],
            set_={"quantity": func.greatest(UsageRecord.quantity, statement.excluded.quantity)},
            where=UsageRecord.reported_at.is_(None),
        )
    return connection.execute(statement.returning(UsageRecord.id)).first() is not None


def record_usage(tenant_id: str, meter: str, subject: str, quantity: int, at: datetime | None = None) -> bool:
    """Record one billable fact in the ledger; returns whether it was new (or raised a gauge's mark).

    ``subject`` tells facts apart within a meter and period: a user id for ``active_users`` (so a user
    counts once a day), a message id for ``emails_sent``. For a gauge meter (``contacts_stored``)
    ``quantity`` is the observed level; the ledger keeps the day's highest level above the allowance.
    Runs in its own short transaction, so it can be called from any request, job or command (after
    the work it bills for has committed); being idempotent, calling it again is harmless.
    Does nothing while billing is off.
    """
    if not billing_enabled():
        return False
    with db.engine.begin() as connection:
        return _record(connection, tenant_id, meter, subject, quantity, at or datetime.now(UTC))


def record_sign_in(user) -> None:
    """``active_users``: the user counts once a day in each of their workspaces. Never fails a sign-in."""
    if not billing_enabled():
        return
    now = datetime.now(UTC)
    try:
        with db.engine.begin() as connection:
            for membership in user.memberships:
                _record(connection, membership.tenant_id, "active_users", str(user.id), 1, now)
    except Exception:
        log.exception("could not record a sign-in in the usage ledger")


def record_contacts_stored(tenant: TenantRef, at: datetime | None = None) -> int:
    """Sample the tenant's contact count into the ``contacts_stored`` gauge; returns the count."""
    # Core is always on, so its contacts table exists in every tenant schema.
    from saas.modules.core.models import Contact

    with tenant_session(tenant) as session:
        count = session.scalar(select(func.count()).select_from(Contact))
    record_usage(tenant.id, "contacts_stored", "contacts", count, at)
    return count


# --- usage so far -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeterUsage:
    key: str
    name: str
    unit: str
    quantity: int
    unit_amount: Decimal  # minor units per unit
    amount: Decimal  # minor units


def billing_window(account: BillingAccount | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current billing period; the calendar month while no subscription period is known."""
    now = now or datetime.now(UTC)
    if account is not None and account.current_period_start and account.current_period_end:
        return account.current_period_start, account.current_period_end
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, (start + timedelta(days=32)).replace(day=1)


def usage_this_period(
    session: Session, tenant_id: str, plan_key: str, start: datetime, end: datetime
) -> list[MeterUsage]:
    """Per meter of the plan: the ledger's quantity in [start, end) and what it costs."""
    totals = dict(
        session.execute(
            select(UsageRecord.meter_key, func.coalesce(func.sum(UsageRecord.quantity), 0))
            .where(
                UsageRecord.tenant_id == tenant_id,
                UsageRecord.occurred_at >= start,
                UsageRecord.occurred_at < end,
            )
            .group_by(UsageRecord.meter_key)
        ).all()
    )
    rows = []
    for meter, price in plan_prices(session, plan_key):
        quantity = int(totals.get(meter.key, 0))
        rows.append(
            MeterUsage(
                meter.key,
                meter.name,
                meter.unit,
                quantity,
                price.unit_amount_decimal,
                quantity * price.unit_amount_decimal,
            )
        )
    return rows


# --- reporting to Stripe ----------------------------------------------------------------------------


@dataclass
class UsageReport:
    sent: int = 0
    duplicates: int = 0  # Stripe already had the identifier (a re-send after a crash)
    failed: int = 0
    batches: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), MAX_BACKOFF)


def _unreported_batch(batch_size: int):
    today = datetime.now(UTC).date()
    return (
        select(UsageRecord, BillingAccount.stripe_customer_id, Meter.event_name)
        .join(BillingAccount, BillingAccount.tenant_id == UsageRecord.tenant_id)
        .join(Meter, Meter.key == UsageRecord.meter_key)
        .where(
            UsageRecord.reported_at.is_(None),
            UsageRecord.next_attempt_at <= func.now(),
            BillingAccount.stripe_customer_id.is_not(None),
            # A gauge's day is reported once it is over and its high-water mark final.
            or_(Meter.kind == "event", UsageRecord.period < today),
        )
        .order_by(UsageRecord.id)
        .limit(batch_size)
        # Concurrent runs take disjoint batches; a killed run's locks vanish with its connection.
        .with_for_update(of=UsageRecord, skip_locked=True)
    )


def _is_duplicate(error: stripe.StripeError) -> bool:
    message = (getattr(error, "user_message", None) or str(error)).lower()
    return (
        isinstance(error, stripe.InvalidRequestError)
        and "already exists" in message
        and "identifier" in message
    )


def _stripe_unavailable(error: stripe.StripeError) -> bool:
    status = getattr(error, "http_status", None) or 0
    return isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500


def _report_batch(api, rows, report: UsageReport) -> bool:
    """Send one locked batch; returns True when Stripe looks unavailable and the run should stop."""
    now = datetime.now(UTC)
    for record, customer_id, event_name in rows:
        try:
            api.billing.MeterEvent.create(
                event_name=event_name,
                identifier=record.identifier,
                payload={"stripe_customer_id": customer_id, "value": str(record.quantity)},
                timestamp=int(record.occurred_at.timestamp()),
            )
            report.sent += 1
        except stripe.StripeError as error:
            if _is_duplicate(error):
                report.duplicates += 1
            else:
                record.attempts += 1
                record.next_attempt_at = now + backoff(record.attempts)
                record.last_error = stripe_error_summary(error)[:500]
                report.failed += 1
                if _stripe_unavailable(error):
                    return True
                continue
        record.reported_at = now
        record.last_error = None
    return False


def report_usage_to_stripe(batch_size: int = 100) -> UsageReport:
    """Report every due, unreported ledger row as a Stripe meter event; safe to run twice or concurrently.

    Each batch is one transaction holding its rows ``FOR UPDATE SKIP LOCKED`` while it sends them,
    so parallel runs never send the same row at once. If a run dies mid-batch, the batch's rows stay
    unreported and the next run re-sends them; Stripe refuses the identifiers it already has, which
    counts as delivered. A row that fails is retried later with exponential backoff.
    """
    api = stripe_api()
    report = UsageReport()
    while True:
        with Session(db.engine) as session, session.begin():
            rows = session.execute(_unreported_batch(batch_size)).all()
            if not rows:
                return report
            stop = _report_batch(api, rows, report)
        report.batches += 1
        if stop:
            report.stopped_early = True
            log.warning("usage reporting stopped early: Stripe unavailable")
            return report


# --- reconciliation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeterReconciliation:
    meter: str
    ledger_reported: int
    ledger_pending: int
    stripe: int

    @property
    def difference(self) -> int:
        return self.stripe - self.ledger_reported


@dataclass
class Reconciliation:
    tenant_id: str
    start: datetime
    end: datetime
    meters: list[MeterReconciliation] = field(default_factory=list)

    @property
    def differences(self) -> list[MeterReconciliation]:
        return [m for m in self.meters if m.difference != 0]

    def as_dict(self) -> dict:
        return {
            "tenant_id": self.tenant_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "meters": [{**asdict(m), "difference": m.difference} for m in self.meters],
        }


def _minute_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    # Stripe's event summaries want minute-aligned bounds; widen to the enclosing minutes.
    start = start.replace(second=0, microsecond=0)
    aligned_end = end.replace(second=0, microsecond=0)
    return start, aligned_end if aligned_end == end else aligned_end + timedelta(minutes=1)


def reconcile_usage(
    session: Session, tenant_id: str, start: datetime | None = None, end: datetime | None = None
) -> Reconciliation:
    """Compare, per meter, what the ledger reported with what Stripe aggregated for the customer.

    The window defaults to the current billing period up to now. Stripe aggregates meter events
    asynchronously, so right after reporting a difference may still be settling.
    """
    account = session.get(BillingAccount, tenant_id)
    if account is None or account.stripe_customer_id is None:
        raise NotFound("This tenant has no Stripe customer yet.")
    period_start, _ = billing_window(account)
    start, end = _minute_window(start or period_start, end or datetime.now(UTC))
    in_window = (
        UsageRecord.tenant_id == tenant_id,
        UsageRecord.occurred_at >= start,
        UsageRecord.occurred_at < end,
    )
    ledger = {
        key: (int(reported), int(pending))
        for key, reported, pending in session.execute(
            select(
                UsageRecord.meter_key,
                func.coalesce(func.sum(UsageRecord.quantity).filter(UsageRecord.reported_at.is_not(None)), 0),
                func.coalesce(func.sum(UsageRecord.quantity).filter(UsageRecord.reported_at.is_(None)), 0),
            )
            .where(*in_window)
            .group_by(UsageRecord.meter_key)
        ).all()
    }
    api = stripe_api()
    result = Reconciliation(tenant_id, start, end)
    for meter in all_meters(session):
        stripe_total = 0
        if meter.stripe_meter_id:
            summaries = api.billing.Meter.list_event_summaries(
                meter.stripe_meter_id,
                customer=account.stripe_customer_id,
                start_time=int(start.timestamp()),
                end_time=int(end.timestamp()),
            )
            stripe_total = int(sum(Decimal(str(s.aggregated_value)) for s in summaries.auto_paging_iter()))
        reported, pending = ledger.get(meter.key, (0, 0))
        result.meters.append(MeterReconciliation(meter.key, reported, pending, stripe_total))
    return result
