"""The billing catalogue: plans, meters and metered prices read from the platform tables, and
:func:`sync_catalog`, which makes Stripe's products, meters and prices match them (idempotently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.billing.models import Meter, MeteredPrice, Plan
from saas.billing.stripe_client import stripe_api
from saas.errors import NotFound


def active_plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).where(Plan.active).order_by(Plan.sort_order, Plan.key)))


def default_plan(session: Session) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.active, Plan.is_default).order_by(Plan.sort_order))
    if plan is None:
        raise NotFound("No default billing plan: mark one active plan as the default in billing_plans.")
    return plan


def all_meters(session: Session) -> list[Meter]:
    return list(session.scalars(select(Meter).order_by(Meter.sort_order, Meter.key)))


def plan_prices(session: Session, plan_key: str) -> list[tuple[Meter, MeteredPrice]]:
    """The plan's metered prices with their meters, in display order."""
    rows = session.execute(
        select(Meter, MeteredPrice)
        .join(MeteredPrice, MeteredPrice.meter_key == Meter.key)
        .where(MeteredPrice.plan_key == plan_key)
        .order_by(Meter.sort_order, Meter.key)
    ).all()
    return [(meter, price) for meter, price in rows]


def decimal_text(value: Decimal) -> str:
    """``Decimal('30.000000000')`` as Stripe's ``unit_amount_decimal`` wants it: ``'30'``."""
    return format(value.normalize(), "f")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def catalog_is_synced(session: Session, plan: Plan) -> bool:
    prices = plan_prices(session, plan.key)
    return (
        plan.stripe_product_id is not None
        and (plan.base_fee_amount is None or plan.stripe_base_price_id is not None)
        and all(meter.stripe_meter_id and price.stripe_price_id for meter, price in prices)
    )


def sync_catalog(session: Session) -> SyncReport:
    """Create or update Stripe meters, products and prices so they match the tables; safe to repeat.

    Stripe objects are found by stable keys (a meter's ``event_name``, a product id derived from the
    plan key, a price's ``lookup_key``), so a second run, or a run against a fresh Stripe account,
    converges instead of duplicating. The caller commits the ids written back to the tables.
    """
    api = stripe_api()
    report = SyncReport()
    meters = all_meters(session)
    existing_meters = {
        m.event_name: m for m in api.billing.Meter.list(status="active", limit=100).auto_paging_iter()
    }
    for meter in meters:
        _sync_meter(api, meter, existing_meters.get(meter.event_name), report)
    for plan in session.scalars(select(Plan).order_by(Plan.sort_order, Plan.key)):
        _sync_product(api, plan, report)
        _sync_base_price(api, plan, report)
        for meter, price in plan_prices(session, plan.key):
            _sync_metered_price(api, plan, meter, price, report)
    session.flush()
    return report


def _sync_meter(api, meter: Meter, existing, report: SyncReport) -> None:
    label = f"meter:{meter.key}"
    if existing is None:
        existing = api.billing.Meter.create(
            display_name=meter.name,
            event_name=meter.event_name,
            default_aggregation={"formula": "sum"},
            customer_mapping={"type": "by_id", "event_payload_key": "stripe_customer_id"},
            value_settings={"event_payload_key": "value"},
        )
        report.created.append(label)
    elif existing.display_name != meter.name:
        # A meter's event name and aggregation are immutable at Stripe; only its display name changes.
        api.billing.Meter.modify(existing.id, display_name=meter.name)
        report.updated.append(label)
    else:
        report.unchanged.append(label)
    meter.stripe_meter_id = existing.id


def _product_id(plan: Plan) -> str:
    return f"crm_plan_{plan.key}"


def _sync_product(api, plan: Plan, report: SyncReport) -> None:
    label = f"product:{plan.key}"
    product_id = _product_id(plan)
    wanted = {"name": plan.name, **({"description": plan.description} if plan.description else {})}
    try:
        product = api.Product.retrieve(product_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        api.Product.create(id=product_id, metadata={"plan_key": plan.key}, **wanted)
        report.created.append(label)
    else:
        if any(getattr(product, key, None) != value for key, value in wanted.items()):
            api.Product.modify(product_id, **wanted)
            report.updated.append(label)
        else:
            report.unchanged.append(label)
    plan.stripe_product_id = product_id


def _sync_price(api, lookup_key: str, wanted: dict, matches, report: SyncReport) -> str:
    """The id of the active price with ``lookup_key`` if it ``matches``; else a new one takes the key.

    Stripe prices are immutable: a changed amount means a new price, and the old one is archived.
    """
    found = api.Price.list(lookup_keys=[lookup_key], active=True, limit=1).data
    if found and matches(found[0]):
        report.unchanged.append(f"price:{lookup_key}")
        return found[0].id
    price = api.Price.create(lookup_key=lookup_key, transfer_lookup_key=True, **wanted)
    if found:
        api.Price.modify(found[0].id, active=False)
        report.updated.append(f"price:{lookup_key}")
    else:
        report.created.append(f"price:{lookup_key}")
    return price.id


def _sync_base_price(api, plan: Plan, report: SyncReport) -> None:
    if plan.base_fee_amount is None:
        plan.stripe_base_price_id = None
        return
    plan.stripe_base_price_id = _sync_price(
        api,
        f"crm_{plan.key}_base",
        {
            "product": plan.stripe_product_id,
            "currency": plan.currency,
            "unit_amount": plan.base_fee_amount,
            "recurring": {"interval": "month", "usage_type": "licensed"},
            "nickname": f"{plan.name} base fee",
        },
        lambda p: p.unit_amount == plan.base_fee_amount and p.currency == plan.currency,
        report,
    )


def _sync_metered_price(api, plan: Plan, meter: Meter, price: MeteredPrice, report: SyncReport) -> None:
    amount = decimal_text(price.unit_amount_decimal)

    def matches(found) -> bool:
        return (
            Decimal(str(found.unit_amount_decimal)) == price.unit_amount_decimal
            and found.currency == plan.currency
            and getattr(found.recurring, "meter", None) == meter.stripe_meter_id
        )

    price.stripe_price_id = _sync_price(
        api,
        f"crm_{plan.key}_{meter.key}",
        {
            "product": plan.stripe_product_id,
            "currency": plan.currency,
            "unit_amount_decimal": amount,
            "billing_scheme": "per_unit",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.stripe_meter_id},
            "nickname": f"{plan.name}: {meter.name}",
        },
        matches,
        report,
    )
