"""What localstripe lacks, added to it in-process for the billing tests (never used by the product).

localstripe (PyPI) fakes customers, products, payment methods, setup intents, events and signed
webhooks. It predates Prices, Billing Meters and metered subscriptions, Checkout and the Customer
Portal, and its subscriptions take exactly one legacy ``plan`` and never become ``trialing``. This
module adds, following the request and response shapes of Stripe's API reference (version
2026-10-28 as pinned by the SDK):

- ``/v1/prices`` (create, retrieve, modify, list by ``lookup_keys``/``active``/``product``), with
  ``recurring.meter`` and ``transfer_lookup_key``;
- ``/v1/billing/meters`` (create, retrieve, modify, list), ``/v1/billing/meter_events`` (refusing a
  repeated ``identifier`` with 400 "An event already exists with identifier ...", as Stripe does)
  and ``/v1/billing/meters/{id}/event_summaries``;
- ``/v1/subscriptions`` with several price items, ``trial_period_days``, ``trial_settings``,
  ``default_payment_method``, ``status=all`` listing, ``/resume`` and cancellation, billing periods
  on the items (API 2025-03-31 and later) and invoices whose subscription is under ``parent``;
- ``/v1/invoices/create_preview`` for those subscriptions (base fee plus metered usage);
- ``/v1/checkout/sessions`` (``setup`` and ``subscription`` modes) and ``/v1/billing_portal/sessions``.

Stripe's clock and its hosted pages are replaced by test controls under ``/_config/test/`` (the
prefix localstripe uses for its own controls): end a trial, renew a period with the card on file,
complete a Checkout session with a card, stall meter events, and read what the fake received.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from decimal import Decimal

from aiohttp import web
from dateutil.relativedelta import relativedelta
from localstripe import resources as ls
from localstripe.errors import UserError
from localstripe.server import get_post_data, json_response, unflatten_data

DAY = 86400
METER_EVENT_MAX_AGE = 35 * DAY


def _bad(message: str, status: int = 400) -> UserError:
    return UserError(status, message)


def _bool(value, default: bool = False) -> bool:
    value = ls.try_convert_to_bool(value)
    return default if value is None else bool(value)


def _int(value) -> int | None:
    return None if value is None else ls.try_convert_to_int(value)


def _month_after(start: int) -> int:
    from datetime import UTC, datetime

    return int((datetime.fromtimestamp(start, UTC) + relativedelta(months=1)).timestamp())


def _emit(kind: str, obj: ls.StripeObject) -> None:
    ls.schedule_webhook(ls.Event(kind, obj))


# --- Prices ---------------------------------------------------------------------------------------


class Price(ls.StripeObject):
    object = "price"
    _id_prefix = "price_"

    def __init__(
        self, currency=None, product=None, unit_amount=None, unit_amount_decimal=None, recurring=None,
        billing_scheme="per_unit", lookup_key=None, transfer_lookup_key=False, nickname=None,
        metadata=None, active=True, tax_behavior="unspecified", **kwargs,
    ):  # fmt: skip
        if kwargs:
            raise _bad("Received unknown parameters: " + ", ".join(kwargs))
        if not isinstance(currency, str) or not isinstance(product, str):
            raise _bad("Missing required param: currency or product.")
        ls.Product._api_retrieve(product)
        if (unit_amount is None) == (unit_amount_decimal is None):
            raise _bad("Pass exactly one of unit_amount and unit_amount_decimal.")
        if recurring is not None:
            usage_type = recurring.get("usage_type", "licensed")
            if recurring.get("interval") not in ("day", "week", "month", "year"):
                raise _bad("Invalid recurring[interval].")
            if usage_type == "metered":
                if not recurring.get("meter"):
                    raise _bad("Metered prices must be backed by a meter: pass recurring[meter].")
                Meter._api_retrieve(recurring["meter"])
            recurring = {
                "interval": recurring["interval"],
                "interval_count": _int(recurring.get("interval_count")) or 1,
                "usage_type": usage_type, "meter": recurring.get("meter"), "trial_period_days": None,
            }  # fmt: skip
        if lookup_key is not None:
            holder = Price._with_lookup_key(lookup_key)
            if holder is not None and not _bool(transfer_lookup_key):
                raise _bad(f"A price with lookup_key {lookup_key} already exists.")
            if holder is not None:
                holder.lookup_key = None
        super().__init__()
        self.currency = currency.lower()
        self.product = product
        if unit_amount is not None:
            self.unit_amount = _int(unit_amount)
            self.unit_amount_decimal = str(self.unit_amount)
        else:
            self.unit_amount = None
            self.unit_amount_decimal = format(Decimal(unit_amount_decimal).normalize(), "f")
        self.recurring = recurring
        self.type = "recurring" if recurring else "one_time"
        self.billing_scheme = billing_scheme
        self.lookup_key = lookup_key
        self.nickname = nickname
        self.metadata = metadata or {}
        self.active = _bool(active, True)
        self.tax_behavior = tax_behavior
        _emit("price.created", self)

    @classmethod
    def _with_lookup_key(cls, lookup_key: str) -> Price | None:
        return next((p for p in _objects(cls) if p.lookup_key == lookup_key), None)

    def _update(self, active=None, metadata=None, nickname=None, lookup_key=None, **kwargs):
        if kwargs:
            raise _bad("Received unknown parameters: " + ", ".join(kwargs))
        if active is not None:
            self.active = _bool(active)
        if metadata:
            self.metadata = {**self.metadata, **metadata}
        if nickname is not None:
            self.nickname = nickname
        if lookup_key is not None:
            self.lookup_key = lookup_key

    def _unit_amount(self) -> Decimal:
        return Decimal(self.unit_amount_decimal)


def _objects(cls) -> list:
    prefix = cls.object + ":"
    return [value for key, value in ls.store.items() if key.startswith(prefix) and isinstance(value, cls)]


def _list(url: str, items: list, params: dict) -> dict:
    listing = ls.List(url, limit=params.get("limit"), starting_after=params.get("starting_after"))
    listing._list = items
    return listing._export()


def list_prices(params: dict) -> dict:
    prices = _objects(Price)
    if "active" in params:
        prices = [p for p in prices if p.active == _bool(params["active"])]
    if "lookup_keys" in params:
        prices = [p for p in prices if p.lookup_key in params["lookup_keys"]]
    if "product" in params:
        prices = [p for p in prices if p.product == params["product"]]
    return _list("/v1/prices", prices, params)


# --- Billing meters and meter events --------------------------------------------------------------


class Meter(ls.StripeObject):
    object = "billing.meter"
    _id_prefix = "mtr_"

    def __init__(
        self, display_name=None, event_name=None, default_aggregation=None, customer_mapping=None,
        value_settings=None, event_time_window=None, **kwargs,
    ):  # fmt: skip
        if kwargs:
            raise _bad("Received unknown parameters: " + ", ".join(kwargs))
        if not display_name or not event_name or not default_aggregation:
            raise _bad("Missing required param: display_name, event_name or default_aggregation.")
        if default_aggregation.get("formula") not in ("sum", "count", "last"):
            raise _bad("Invalid default_aggregation[formula].")
        if Meter._active_for(event_name) is not None:
            raise _bad(f"An active meter with event_name {event_name} already exists.")
        super().__init__()
        self.display_name = display_name
        self.event_name = event_name
        self.default_aggregation = {"formula": default_aggregation["formula"]}
        self.customer_mapping = customer_mapping or {
            "type": "by_id",
            "event_payload_key": "stripe_customer_id",
        }
        self.value_settings = value_settings or {"event_payload_key": "value"}
        self.event_time_window = event_time_window
        self.status = "active"
        self.status_transitions = {"deactivated_at": None}
        self.updated = self.created

    @classmethod
    def _active_for(cls, event_name: str) -> Meter | None:
        return next((m for m in _objects(cls) if m.event_name == event_name and m.status == "active"), None)

    def _update(self, display_name=None, **kwargs):
        if kwargs:
            raise _bad("Only display_name can be changed on a meter.")
        if display_name:
            self.display_name = display_name
            self.updated = int(time.time())


def list_meters(params: dict) -> dict:
    meters = _objects(Meter)
    if "status" in params:
        meters = [m for m in meters if m.status == params["status"]]
    return _list("/v1/billing/meters", meters, params)


class MeterEvents:
    """What the fake received: accepted events by identifier, and every attempt (duplicates too)."""

    def __init__(self) -> None:
        self.accepted: dict[str, dict] = {}
        self.attempts: Counter[str] = Counter()
        self.stall_after: int | None = None
        self.released = asyncio.Event()
        self.waiting = 0  # requests held by a stall right now


METER_EVENTS = MeterEvents()


async def create_meter_event(params: dict) -> dict:
    event_name, payload = params.get("event_name"), params.get("payload") or {}
    identifier = params.get("identifier") or "ident_" + ls.random_id(24)
    METER_EVENTS.attempts[identifier] += 1
    if METER_EVENTS.stall_after is not None and len(METER_EVENTS.accepted) >= METER_EVENTS.stall_after:
        # Hold the request, as a slow network would, until the test releases it; then fail it.
        METER_EVENTS.waiting += 1
        try:
            await METER_EVENTS.released.wait()
        finally:
            METER_EVENTS.waiting -= 1
        raise _bad("Service unavailable (stalled by the test).", 503)
    meter = Meter._active_for(event_name or "")
    if meter is None:
        raise _bad(f"No active meter was found with event_name {event_name}.")
    customer = payload.get(meter.customer_mapping["event_payload_key"])
    value = payload.get(meter.value_settings["event_payload_key"])
    if not customer or value is None:
        raise _bad("The payload needs the customer mapping key and the value key.")
    ls.Customer._api_retrieve(customer)
    if identifier in METER_EVENTS.accepted:
        raise _bad(f"An event already exists with identifier {identifier}.")
    now = int(time.time())
    timestamp = _int(params.get("timestamp")) or now
    if timestamp < now - METER_EVENT_MAX_AGE or timestamp > now + 300:
        raise _bad("timestamp must be within the past 35 days or up to 5 minutes in the future.")
    event = {
        "object": "billing.meter_event", "created": now, "event_name": event_name,
        "identifier": identifier, "livemode": False, "payload": payload, "timestamp": timestamp,
    }  # fmt: skip
    METER_EVENTS.accepted[identifier] = {**event, "_customer": customer, "_value": Decimal(str(value))}
    return event


def _usage(meter_id: str, customer: str, start: int, end: int) -> Decimal:
    meter = Meter._api_retrieve(meter_id)
    return sum(
        (
            e["_value"]
            for e in METER_EVENTS.accepted.values()
            if e["event_name"] == meter.event_name
            and e["_customer"] == customer
            and start <= e["timestamp"] < end
        ),
        Decimal(0),
    )


def list_event_summaries(params: dict, id: str) -> dict:
    customer, start, end = (
        params.get("customer"),
        _int(params.get("start_time")),
        _int(params.get("end_time")),
    )
    if not customer or start is None or end is None:
        raise _bad("Missing required param: customer, start_time or end_time.")
    if start % 60 or end % 60:
        raise _bad("start_time and end_time must be aligned with minute boundaries.")
    value = _usage(id, customer, start, end)
    summary = {
        "id": "mtrusg_" + ls.random_id(24), "object": "billing.meter_event_summary",
        "aggregated_value": float(value), "start_time": start, "end_time": end, "livemode": False,
        "meter": id,
    }  # fmt: skip
    return {
        "object": "list",
        "data": [summary],
        "has_more": False,
        "url": f"/v1/billing/meters/{id}/event_summaries",
    }


# --- Subscriptions with prices, trials and pauses ---------------------------------------------------


class Invoice(ls.StripeObject):
    object = "invoice"
    _id_prefix = "in_"

    def __init__(self, subscription: MeteredSubscription, start: int, end: int, reason: str):
        super().__init__()
        lines = subscription._lines(start, end)
        amount = int(sum((line["amount"] for line in lines), 0))
        self.customer = subscription.customer
        self.currency = subscription.currency
        self.lines = {"object": "list", "data": lines, "has_more": False}
        self.amount_due = amount
        self.amount_paid = 0
        self.amount_remaining = amount
        self.period_start, self.period_end = start, end
        self.billing_reason = reason
        self.parent = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription.id, "metadata": subscription.metadata},
        }
        self.status = "open"
        self.attempt_count = 0

    def _charge(self, payment_method: str | None) -> bool:
        """Charge the card on file (localstripe's test cards decide); emits invoice.paid or payment_failed."""
        self.attempt_count += 1
        card = ls.PaymentMethod._api_retrieve(payment_method) if payment_method else None
        if self.amount_due == 0 or (card is not None and not card._charging_is_declined()):
            self.status, self.amount_paid, self.amount_remaining = "paid", self.amount_due, 0
            _emit("invoice.paid", self)
            return True
        _emit("invoice.payment_failed", self)
        return False


class MeteredSubscription(ls.StripeObject):
    object = "subscription"
    _id_prefix = "sub_"

    def __init__(
        self, customer=None, items=None, trial_period_days=None, trial_end=None, trial_settings=None,
        default_payment_method=None, metadata=None, payment_behavior=None, collection_method=None,
        description=None, currency=None, **kwargs,
    ):  # fmt: skip
        if kwargs:
            raise _bad("Received unknown parameters: " + ", ".join(kwargs))
        if not isinstance(customer, str):
            raise _bad("Missing required param: customer.")
        ls.Customer._api_retrieve(customer)
        if not items:
            raise _bad("Missing required param: items.")
        prices = [Price._api_retrieve(item.get("price", "")) for item in items]
        if len({p.currency for p in prices}) != 1:
            raise _bad("All prices on a subscription must have the same currency.")
        now = int(time.time())
        days = _int(trial_period_days)
        trial_end = now + days * DAY if days else _int(trial_end)
        if default_payment_method:
            ls.PaymentMethod._api_retrieve(default_payment_method)
        super().__init__()
        self.customer = customer
        self.currency = prices[0].currency
        self.metadata = metadata or {}
        self.description = description
        self.default_payment_method = default_payment_method
        self.collection_method = collection_method or "charge_automatically"
        self.trial_start = now if trial_end else None
        self.trial_end = trial_end
        self.trial_settings = {
            "end_behavior": {
                "missing_payment_method": ((trial_settings or {}).get("end_behavior") or {}).get(
                    "missing_payment_method", "create_invoice"
                )
            }
        }
        self.cancel_at_period_end = False
        self.canceled_at = self.ended_at = None
        self.pause_collection = None
        self.start_date = now
        self.billing_cycle_anchor = trial_end or now
        self.latest_invoice = None
        self.items = {
            "object": "list", "has_more": False, "url": f"/v1/subscription_items?subscription={self.id}",
            "data": [self._item(price) for price in prices],
        }  # fmt: skip
        self._set_period(now, trial_end or _month_after(now))
        self.status = "trialing" if trial_end else "incomplete"
        if not trial_end:
            self.status = "active" if self._invoice(now, now, "subscription_create") else "incomplete"
        _emit("customer.subscription.created", self)

    def _item(self, price: Price) -> dict:
        item = {"id": "si_" + ls.random_id(14), "object": "subscription_item", "subscription": self.id}
        if price.recurring and price.recurring["usage_type"] == "licensed":
            item["quantity"] = 1
        return {**item, "price": price._export(), "metadata": {}}

    def _set_period(self, start: int, end: int) -> None:
        for item in self.items["data"]:
            item["current_period_start"], item["current_period_end"] = start, end

    def _period(self) -> tuple[int, int]:
        first = self.items["data"][0]
        return first["current_period_start"], first["current_period_end"]

    def _lines(self, start: int, end: int) -> list[dict]:
        lines = []
        for item in self.items["data"]:
            price = Price._api_retrieve(item["price"]["id"])
            if price.recurring and price.recurring["usage_type"] == "metered":
                quantity = _usage(price.recurring["meter"], self.customer, start, end)
            else:
                quantity = Decimal(item.get("quantity") or 1)
            amount = (quantity * price._unit_amount()).quantize(Decimal(1))
            lines.append(
                {"object": "line_item", "amount": int(amount), "quantity": float(quantity), "price": price.id}
            )
        return lines

    def _payment_method(self) -> str | None:
        customer = ls.Customer._api_retrieve(self.customer)
        return self.default_payment_method or (customer.invoice_settings or {}).get("default_payment_method")

    def _invoice(self, start: int, end: int, reason: str) -> bool:
        invoice = Invoice(self, start, end, reason)
        self.latest_invoice = invoice.id
        return invoice._charge(self._payment_method())

    def _start_new_period(self, start: int) -> None:
        self._set_period(start, _month_after(start))
        self.billing_cycle_anchor = start

    def _end_trial(self) -> None:
        now = int(time.time())
        self.trial_end = now
        if self._payment_method():
            self._start_new_period(now)
            self.status = "active" if self._invoice(now, now, "subscription_cycle") else "past_due"
        else:
            behavior = self.trial_settings["end_behavior"]["missing_payment_method"]
            if behavior == "pause":
                self.status = "paused"
                _emit("customer.subscription.paused", self)
            elif behavior == "cancel":
                self.status, self.canceled_at, self.ended_at = "canceled", now, now
                _emit("customer.subscription.deleted", self)
                return
            else:
                self._start_new_period(now)
                self.status = "active" if self._invoice(now, now, "subscription_cycle") else "past_due"
        _emit("customer.subscription.updated", self)

    def _renew(self) -> None:
        """Jump to the end of the current period, as a Stripe test clock would, and invoice it."""
        start, end = self._period()
        paid = self._invoice(start, end, "subscription_cycle")
        self._start_new_period(end)
        self.status = "active" if paid else "past_due"
        _emit("customer.subscription.updated", self)

    def _update(
        self, default_payment_method=None, cancel_at_period_end=None, metadata=None, description=None, **kw
    ):
        if kw:
            raise _bad("Received unknown parameters: " + ", ".join(kw))
        if default_payment_method is not None:
            ls.PaymentMethod._api_retrieve(default_payment_method)
            self.default_payment_method = default_payment_method or None
        if cancel_at_period_end is not None:
            self.cancel_at_period_end = _bool(cancel_at_period_end)
        if metadata:
            self.metadata = {**self.metadata, **metadata}
        if description is not None:
            self.description = description
        _emit("customer.subscription.updated", self)


def _subscription(id: str) -> MeteredSubscription:
    subscription = ls.store.get("subscription:" + id)
    if not isinstance(subscription, MeteredSubscription):
        raise _bad(f"No such subscription: '{id}'", 404)
    return subscription


def resume_subscription(params: dict, id: str) -> dict:
    subscription = _subscription(id)
    if subscription.status != "paused":
        raise _bad("Only a paused subscription can be resumed.")
    if not subscription._payment_method():
        raise _bad("This customer has no attached payment source or default payment method.")
    now = int(time.time())
    subscription._start_new_period(now)
    subscription.status = "active" if subscription._invoice(now, now, "subscription_cycle") else "past_due"
    _emit("customer.subscription.resumed", subscription)
    _emit("customer.subscription.updated", subscription)
    return subscription._export()


def cancel_subscription(params: dict, id: str) -> dict:
    subscription = _subscription(id)
    now = int(time.time())
    subscription.status, subscription.canceled_at, subscription.ended_at = "canceled", now, now
    _emit("customer.subscription.deleted", subscription)
    return subscription._export()


def list_subscriptions(params: dict) -> dict:
    subscriptions = _objects(MeteredSubscription)
    status = params.get("status")
    if status is None:
        subscriptions = [s for s in subscriptions if s.status not in ("canceled", "incomplete_expired")]
    elif status != "all":
        subscriptions = [s for s in subscriptions if s.status == status]
    if "customer" in params:
        subscriptions = [s for s in subscriptions if s.customer == params["customer"]]
    return _list("/v1/subscriptions", subscriptions, params)


def preview_invoice(params: dict) -> dict:
    subscription = _subscription(params.get("subscription") or "")
    if params.get("customer") and params["customer"] != subscription.customer:
        raise _bad("The subscription does not belong to this customer.")
    start, end = subscription._period()
    lines = subscription._lines(start, end)
    amount = sum(line["amount"] for line in lines)
    return {
        "object": "invoice", "id": None, "customer": subscription.customer, "currency": subscription.currency,
        "amount_due": amount, "subtotal": amount, "total": amount, "status": "draft",
        "period_start": start, "period_end": end,
        "lines": {"object": "list", "data": lines, "has_more": False},
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription.id}},
    }  # fmt: skip


# --- Checkout and the Customer Portal ---------------------------------------------------------------


class CheckoutSession(ls.StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(
        self, mode=None, customer=None, success_url=None, cancel_url=None, currency=None, line_items=None,
        metadata=None, subscription_data=None, setup_intent_data=None, payment_method_types=None, **kwargs,
    ):  # fmt: skip
        if kwargs:
            raise _bad("Received unknown parameters: " + ", ".join(kwargs))
        if mode not in ("payment", "setup", "subscription"):
            raise _bad("Invalid mode: must be one of payment, setup, or subscription.")
        if not success_url:
            raise _bad("Missing required param: success_url.")
        if mode == "setup" and not currency and not payment_method_types:
            raise _bad("currency is required in setup mode when payment_method_types is not passed.")
        if mode == "subscription" and not line_items:
            raise _bad("line_items is required in subscription mode.")
        if customer:
            ls.Customer._api_retrieve(customer)
        super().__init__()
        self.mode = mode
        self.customer = customer
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.currency = currency
        self.metadata = metadata or {}
        self.status = "open"
        self.payment_status = "no_payment_required" if mode == "setup" else "unpaid"
        self.setup_intent = None
        self.subscription = None
        self.expires_at = self.created + DAY
        self.url = f"{BASE_URL}/_hosted/checkout/{self.id}"
        self._line_items = line_items or []
        self._subscription_data = subscription_data or {}

    def _complete(self, card_number: str) -> None:
        if self.status != "open":
            raise _bad("This Checkout session is not open.")
        card = ls.PaymentMethod(
            type="card", card={"number": card_number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
        )
        ls.PaymentMethod._api_attach(card.id, customer=self.customer)
        if self.mode == "setup":
            setup = ls.SetupIntent(customer=self.customer, metadata=self.metadata)
            setup._attach_pm(card)
            self.setup_intent = setup.id
        else:
            subscription = MeteredSubscription(
                customer=self.customer,
                items=[{"price": item["price"]} for item in self._line_items],
                default_payment_method=card.id,
                metadata=self._subscription_data.get("metadata"),
            )
            self.subscription = subscription.id
            self.payment_status = "paid"
        self.status = "complete"
        _emit("checkout.session.completed", self)


PORTAL_SESSIONS: list[dict] = []


def create_portal_session(params: dict) -> dict:
    customer = params.get("customer")
    if not customer:
        raise _bad("Missing required param: customer.")
    ls.Customer._api_retrieve(customer)
    id = "bps_" + ls.random_id(24)
    session = {
        "id": id, "object": "billing_portal.session", "customer": customer,
        "return_url": params.get("return_url"),
        "url": f"{BASE_URL}/_hosted/portal/{id}", "created": int(time.time()), "livemode": False,
        "configuration": "bpc_fake", "flow": None, "locale": None, "on_behalf_of": None,
    }  # fmt: skip
    PORTAL_SESSIONS.append(session)
    return session


# --- Test controls ---------------------------------------------------------------------------------


def control_end_trial(params: dict, id: str) -> dict:
    subscription = _subscription(id)
    if subscription.status != "trialing":
        raise _bad("The subscription is not trialing.")
    subscription._end_trial()
    return subscription._export()


def control_trial_will_end(params: dict, id: str) -> dict:
    subscription = _subscription(id)
    _emit("customer.subscription.trial_will_end", subscription)
    return subscription._export()


def control_renew(params: dict, id: str) -> dict:
    subscription = _subscription(id)
    subscription._renew()
    return subscription._export()


def control_mark_unpaid(params: dict, id: str) -> dict:
    """Smart Retries gave up on a past-due invoice and the settings say: mark the subscription unpaid."""
    subscription = _subscription(id)
    subscription.status = "unpaid"
    _emit("customer.subscription.updated", subscription)
    return subscription._export()


def control_complete_checkout(params: dict, id: str) -> dict:
    session = CheckoutSession._api_retrieve(id)
    session._complete(params.get("card_number") or "4242424242424242")
    return session._export()


def control_events(params: dict) -> dict:
    """Every event so far, oldest first (Stripe's own list is newest first)."""
    events = [e._export() for e in _objects(ls.Event)]
    return {"data": events}


def control_meter_events(params: dict) -> dict:
    accepted = [{k: v for k, v in e.items() if not k.startswith("_")} for e in METER_EVENTS.accepted.values()]
    return {"accepted": accepted, "attempts": dict(METER_EVENTS.attempts)}


def control_meter_event_stats(params: dict) -> dict:
    return {"accepted": len(METER_EVENTS.accepted), "waiting": METER_EVENTS.waiting}


def control_stall_meter_events(params: dict) -> dict:
    METER_EVENTS.stall_after = _int(params.get("after"))
    METER_EVENTS.released.clear()
    return {"stall_after": METER_EVENTS.stall_after}


def control_release_meter_events(params: dict) -> dict:
    METER_EVENTS.stall_after = None
    METER_EVENTS.released.set()
    return {"released": True}


def control_portal_sessions(params: dict) -> dict:
    return {"data": PORTAL_SESSIONS}


REQUEST_LOG: list[tuple[str, str]] = []


def control_requests(params: dict) -> dict:
    return {"data": [{"method": method, "path": path} for method, path in REQUEST_LOG]}


# --- Routing --------------------------------------------------------------------------------------


def _retrieve(cls):
    return lambda params, id: cls._api_retrieve(id)._export(expand=params.get("expand"))


def _modify(cls):
    def modify(params: dict, id: str) -> dict:
        obj = cls._api_retrieve(id)
        expand = params.pop("expand", None)
        obj._update(**params)
        return obj._export(expand=expand)

    return modify


def _create(cls):
    def create(params: dict) -> dict:
        expand = params.pop("expand", None)
        return cls(**params)._export(expand=expand)

    return create


ROUTES = [
    ("POST", r"/v1/prices", _create(Price)),
    ("GET", r"/v1/prices", list_prices),
    ("GET", r"/v1/prices/(?P<id>[^/]+)", _retrieve(Price)),
    ("POST", r"/v1/prices/(?P<id>[^/]+)", _modify(Price)),
    ("POST", r"/v1/billing/meters", _create(Meter)),
    ("GET", r"/v1/billing/meters", list_meters),
    ("GET", r"/v1/billing/meters/(?P<id>[^/]+)/event_summaries", list_event_summaries),
    ("GET", r"/v1/billing/meters/(?P<id>[^/]+)", _retrieve(Meter)),
    ("POST", r"/v1/billing/meters/(?P<id>[^/]+)", _modify(Meter)),
    ("POST", r"/v1/billing/meter_events", create_meter_event),
    ("POST", r"/v1/subscriptions", _create(MeteredSubscription)),
    ("GET", r"/v1/subscriptions", list_subscriptions),
    ("POST", r"/v1/subscriptions/(?P<id>[^/]+)/resume", resume_subscription),
    ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", _retrieve(MeteredSubscription)),
    ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", _modify(MeteredSubscription)),
    ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", cancel_subscription),
    ("POST", r"/v1/invoices/create_preview", preview_invoice),
    ("POST", r"/v1/checkout/sessions", _create(CheckoutSession)),
    ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", _retrieve(CheckoutSession)),
    ("POST", r"/v1/billing_portal/sessions", create_portal_session),
    ("POST", r"/_config/test/subscriptions/(?P<id>[^/]+)/end_trial", control_end_trial),
    ("POST", r"/_config/test/subscriptions/(?P<id>[^/]+)/trial_will_end", control_trial_will_end),
    ("POST", r"/_config/test/subscriptions/(?P<id>[^/]+)/renew", control_renew),
    ("POST", r"/_config/test/subscriptions/(?P<id>[^/]+)/mark_unpaid", control_mark_unpaid),
    ("POST", r"/_config/test/checkout/sessions/(?P<id>[^/]+)/complete", control_complete_checkout),
    ("GET", r"/_config/test/events", control_events),
    ("GET", r"/_config/test/meter_events", control_meter_events),
    ("GET", r"/_config/test/meter_events/stats", control_meter_event_stats),
    ("POST", r"/_config/test/meter_events/stall", control_stall_meter_events),
    ("POST", r"/_config/test/meter_events/release", control_release_meter_events),
    ("GET", r"/_config/test/billing_portal/sessions", control_portal_sessions),
    ("GET", r"/_config/test/requests", control_requests),
]
_COMPILED = [(method, re.compile(pattern), handler) for method, pattern, handler in ROUTES]
BASE_URL = ""


async def _params(request: web.Request) -> dict:
    data = (await get_post_data(request) or {}) if request.method == "POST" else {}
    data.update(unflatten_data(request.query) or {})
    return data


@web.middleware
async def extensions_middleware(request: web.Request, handler):
    REQUEST_LOG.append((request.method, request.path))
    for method, pattern, extension in _COMPILED:
        match = pattern.fullmatch(request.path) if request.method == method else None
        if match:
            result = extension(await _params(request), **match.groupdict())
            if asyncio.iscoroutine(result):
                result = await result
            return json_response(result)
    return await handler(request)


def install(app: web.Application, base_url: str) -> None:
    """Add the extensions to localstripe's app (before it starts); they take precedence over its routes."""
    global BASE_URL
    BASE_URL = base_url
    # Inside localstripe's error and auth middlewares, so errors and API keys behave the same.
    app.middlewares.append(extensions_middleware)
