"""Quotes: their figures (Decimal, rounding), gapless numbers under concurrency, versions, and the
customer's answer (acceptance wins the deal and sets its amount; expired or superseded ones refuse)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.db import tenant_session
from saas.errors import Conflict, ValidationError
from saas.modules.core.models import Contact
from saas.modules.sfa import products, quotes
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Quote
from saas.modules.sfa.quotes import Response


def _deal(session, **extra):
    contact = Contact(first_name="Olga", last_name="Petrova", email="olga@example.ru", preferred_locale="ru")
    session.add(contact)
    session.flush()
    return deals.create(
        session,
        {
            "name": "Licences",
            "amount": Decimal("10"),
            "currency": "EUR",
            "contact_ids": [contact.id],
            **extra,
        },
    )


def _product(session, sku="LIC-1", price="99.99", tax="19"):
    return products.products.create(
        session,
        {
            "sku": sku,
            "name": f"Licence {sku}",
            "unit": "seat",
            "tax_rate": Decimal(tax),
            "prices": [{"currency": "EUR", "unit_price": Decimal(price)}],
        },
    )


def test_totals_round_half_up_per_line_discount_and_tax_rate(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        product = _product(session)
        quote = quotes.create_quote(
            session,
            deal.id,
            {
                "discount_percent": Decimal("10"),
                "lines": [
                    # 3 x 99.99 less 5 % = 284.9715 -> 284.97, taxed at the product's 19 %
                    {"product_id": product.id, "quantity": Decimal("3"), "discount_percent": Decimal("5")},
                    # free text at 7 %: 0.333 x 10.005 = 3.331665 -> 3.33
                    {"description": "Setup", "quantity": Decimal("0.333"), "unit_price": Decimal("10.005"),
                     "tax_rate": Decimal("7")},
                ],
            },
        )  # fmt: skip
        assert [line.net_amount for line in quote.lines] == [Decimal("284.97"), Decimal("3.33")]
        assert quote.lines[0].unit_price == Decimal("99.99") and quote.lines[0].tax_rate == Decimal("19")
        assert quote.subtotal == Decimal("288.30")
        assert quote.discount_amount == Decimal("28.83")
        figures = quotes.totals(quote.lines, quote.discount_percent)
        # 19 % of 284.97 x 0.9 = 48.734... -> 48.73; 7 % of 3.33 x 0.9 = 0.209... -> 0.21
        assert figures.taxes == {Decimal("7"): Decimal("0.21"), Decimal("19"): Decimal("48.73")}
        assert quote.tax_amount == Decimal("48.94")
        assert quote.total == Decimal("308.41")
        assert isinstance(quote.total, Decimal)


def test_a_line_without_a_price_in_the_currency_is_refused(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        product = _product(session)
        with pytest.raises(ValidationError) as refused:
            quotes.create_quote(session, deal.id, {"currency": "USD", "lines": [{"product_id": product.id}]})
        assert "lines.0.unit_price" in refused.value.errors


def test_quote_numbers_have_no_gaps_or_duplicates_under_concurrency(app, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal_id = _deal(session).id
    workers, per_worker = 6, 5
    failures: list[BaseException] = []
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        with app.app_context():
            start.wait()
            for attempt in range(per_worker):
                try:
                    with tenant_session(tenant_a.ref) as session:
                        quotes.create_quote(
                            session, deal_id, {"lines": [{"description": "x", "unit_price": Decimal("1")}]}
                        )
                        if (index + attempt) % 3 == 0:
                            raise RuntimeError("rolled back after taking a number")
                except RuntimeError:
                    pass
                except BaseException as error:
                    failures.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rolled_back = sum(1 for i in range(workers) for a in range(per_worker) if (i + a) % 3 == 0)
    with tenant_session(tenant_a.ref) as session:
        numbers = sorted(session.scalars(select(Quote.number)))
    assert len(numbers) == workers * per_worker - rolled_back
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_new_version_keeps_the_number_and_supersedes_the_open_one(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        first = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "A", "unit_price": Decimal("5")}]}
        )
        second = quotes.new_version(session, first.id)
        assert (second.number, second.version) == (first.number, 2)
        assert second.reference == f"Q-{first.number:05d}-v2"
        assert first.status == "superseded" and second.total == first.total
        with pytest.raises(Conflict):
            quotes.respond(session, first.id, Response(True, "Olga Petrova", "192.0.2.1"))
        other = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "B", "unit_price": Decimal("1")}]}
        )
        assert other.number == first.number + 1


def test_acceptance_wins_the_deal_and_sets_its_amount(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        product = _product(session)
        quote = quotes.create_quote(
            session, deal.id, {"lines": [{"product_id": product.id, "quantity": Decimal("2")}]}
        )
        quotes.respond(session, quote.id, Response(True, "  Olga Petrova ", "192.0.2.1"))
        assert quote.status == "accepted"
        assert (quote.responder_name, quote.responder_ip) == ("Olga Petrova", "192.0.2.1")
        assert quote.responded_at is not None
        session.refresh(deal)
        assert deal.status == "won"
        assert (deal.amount, deal.currency) == (Decimal("237.98"), "EUR")  # 199.98 + 19 % tax
        with pytest.raises(Conflict):
            quotes.respond(session, quote.id, Response(True, "Olga Petrova", None))
        with pytest.raises(Conflict):
            quotes.new_version(session, quote.id)


def test_acceptance_leaves_the_deal_open_and_its_amount_when_told_so(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session, amount_follows_quote=False)
        quotes.set_acceptance_wins_deal(session, False)
        quote = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "A", "unit_price": Decimal("5")}]}
        )
        quotes.respond(session, quote.id, Response(True, "Olga", None))
        session.refresh(deal)
        assert (deal.status, deal.amount) == ("open", Decimal("10.00"))


def test_an_expired_quote_cannot_be_accepted_but_a_declined_one_records_why(tenant_a):
    today = datetime.now(UTC).date()
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        lines = [{"description": "A", "unit_price": Decimal("5")}]
        expired = quotes.create_quote(
            session, deal.id, {"expires_on": today - timedelta(days=1), "lines": lines}
        )
        with pytest.raises(Conflict):
            quotes.respond(session, expired.id, Response(True, "Olga", None))
        open_one = quotes.create_quote(session, deal.id, {"expires_on": today, "lines": lines})
        with pytest.raises(ValidationError):
            quotes.respond(session, open_one.id, Response(True, "  ", None))
        quotes.respond(session, open_one.id, Response(False, "", "192.0.2.9", reason="Too dear"))
        assert (open_one.status, open_one.decline_reason) == ("declined", "Too dear")
        session.refresh(deal)
        assert deal.status == "open"
    assert quotes.is_expired(expired, today) and not quotes.is_expired(open_one, date.min)


def test_the_persons_download_has_their_quotes_and_erasure_removes_their_answer(tenant_a):
    from saas.modules.registry import DataSubject
    from saas.modules.sfa import privacy

    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        contact_id = deal.contact_ids[0]
        quote = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "A", "unit_price": Decimal("5")}]}
        )
        quotes.respond(session, quote.id, Response(False, "Olga Petrova", "192.0.2.1", reason="Later"))
        subject = DataSubject(contact_id, "olga@example.ru")
        held = privacy.personal_data(session, subject)["quotes"]
        assert [(q["reference"], q["responder_name"], q["responder_ip"]) for q in held] == [
            (quote.reference, "Olga Petrova", "192.0.2.1")
        ]
        assert privacy.erase_person(session, subject)["quotes"] == 1
        session.refresh(quote)
        assert (quote.responder_name, quote.responder_ip, quote.decline_reason) == (None, None, None)
        assert quote.status == "declined" and quote.number == 1


def test_acceptance_sends_the_quote_accepted_webhook(tenant_a):
    from saas.webhooks.models import WebhookDelivery, WebhookSubscription

    with tenant_session(tenant_a.ref) as session:
        session.add(
            WebhookSubscription(
                url="https://hooks.example.com/q", events=["quote.accepted"], secret="whsec_" + "x" * 40,
                is_active=True, consecutive_failures=0,
            )
        )  # fmt: skip
        deal = _deal(session)
        quote = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "A", "unit_price": Decimal("5")}]}
        )
        quotes.respond(session, quote.id, Response(False, "", None))
        assert session.scalars(select(WebhookDelivery)).all() == []  # a refusal is no acceptance
        other = quotes.create_quote(
            session, deal.id, {"lines": [{"description": "B", "unit_price": Decimal("7")}]}
        )
        quotes.respond(session, other.id, Response(True, "Olga", None))
        sent = session.scalars(select(WebhookDelivery)).all()
        assert [(d.event, d.payload["id"], d.payload["total"]) for d in sent] == [
            ("quote.accepted", str(other.id), "7.00")
        ]


def test_the_forecast_counts_the_deal_at_its_accepted_quote(tenant_a):
    from saas.modules.sfa.forecast import forecast

    close = date(2030, 3, 15)
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session, close_date=close, currency="USD")
        quote = quotes.create_quote(
            session,
            deal.id,
            {"currency": "EUR", "lines": [{"description": "A", "unit_price": Decimal("99.95")}]},
        )
        quotes.respond(session, quote.id, Response(True, "Olga", None))
        report = forecast(session, start=close, months=1)
    assert [(c["currency"], c["totals"]["won"]) for c in report["currencies"]] == [("EUR", Decimal("99.95"))]


def test_a_new_version_keeps_what_its_changes_leave_out(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        deal = _deal(session)
        first = quotes.create_quote(
            session,
            deal.id,
            {
                "currency": "USD",
                "terms": "Net 30",
                "lines": [{"description": "A", "unit_price": Decimal("5")}],
            },
        )
        second = quotes.new_version(
            session,
            first.id,
            {"lines": [{"description": "A", "quantity": Decimal("3"), "unit_price": Decimal("5")}]},
        )
        assert (second.currency, second.terms, second.total) == ("USD", "Net 30", Decimal("15.00"))
        assert quotes.new_version(session, second.id).version == 3
