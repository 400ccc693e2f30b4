"""Win rates learned from a workspace's own closed deals: stage-to-won conversion and median days in
stage from the stage history, used only past the stated minimum (the configured probability stands
below it, and the page says so); the back-test of the last quarter learns only from deals closed before
it; another workspace's opposite history gives its own, opposite rates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.sfa import win_rates
from saas.modules.sfa.deals import deals
from saas.modules.sfa.forecast import window_scope
from saas.modules.sfa.models import Deal, DealStageChange, Stage
from tests.conftest import login


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def make_deal(
    session, path: list[tuple[str, str]], amount: str = "1000", close_date: date | None = None
) -> Deal:
    """A deal created in ``path[0]``'s stage and moved through the rest by the deals service, then dated:
    each stage change at its given day, and the close (a Won or Lost stage) at the last one."""
    stages = {stage.name: stage.id for stage in session.scalars(select(Stage))}
    deal = deals.create(
        session,
        {"name": "Deal", "amount": Decimal(amount), "stage_id": stages[path[0][0]], "close_date": close_date},
    )
    for name, _ in path[1:]:
        deals.move(session, deal.id, stages[name], lost_reason="Too dear" if name == "Lost" else None)
    changes = session.scalars(
        select(DealStageChange).where(DealStageChange.deal_id == deal.id).order_by(DealStageChange.changed_at)
    ).all()
    assert len(changes) == len(path)
    for change, (_, day) in zip(changes, path, strict=True):
        change.changed_at = at(day)
    if deal.status != "open":
        deal.closed_at = at(path[-1][1])
    session.flush()
    return deal


def history(session, won: int, lost: int) -> None:
    """Deals closed in 2030: 10 days in Prospecting, 20 in Proposal, then won or lost."""
    for index in range(won + lost):
        start = at("2030-03-01") + timedelta(days=index)
        days = [start, start + timedelta(days=10), start + timedelta(days=30)]
        outcome = "Won" if index < won else "Lost"
        make_deal(
            session,
            [
                (name, d.date().isoformat())
                for name, d in zip(("Prospecting", "Proposal", outcome), days, strict=True)
            ],
        )


def _rates(session) -> dict[str, win_rates.StageRate]:
    return {rate.name: rate for rate in win_rates.stage_rates(session)}


def test_rates_and_days_in_stage_are_learned_from_closed_deals_past_the_minimum(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        history(session, won=9, lost=3)
        make_deal(session, [("Qualification", "2030-05-01"), ("Lost", "2030-05-11")])
        make_deal(session, [("Negotiation", "2030-06-01")])  # open: teaches nothing yet
        rates = _rates(session)
    proposal, prospecting = rates["Proposal"], rates["Prospecting"]
    assert (proposal.closed, proposal.won, proposal.learned, proposal.used) == (
        12,
        9,
        Decimal("75.0"),
        Decimal("75.0"),
    )
    assert (prospecting.median_days, proposal.median_days) == (10.0, 20.0)
    assert prospecting.enough_history and prospecting.used == Decimal("75.0")
    # Below the minimum the configured probability stands, whatever the few closed deals say.
    qualification = rates["Qualification"]
    assert (qualification.closed, qualification.learned, qualification.enough_history) == (
        1,
        Decimal("0.0"),
        False,
    )
    assert qualification.used == Decimal(25)
    assert (rates["Negotiation"].closed, rates["Negotiation"].used) == (0, Decimal(75))


def test_the_back_test_learns_only_from_deals_closed_before_the_quarter(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        history(session, won=9, lost=3)
        # Open at 2031-01-01, expected to close in Q1 2031: two won, one lost in the quarter, one still open.
        make_deal(session, [("Proposal", "2030-12-15"), ("Won", "2031-02-01")], close_date=date(2031, 2, 1))
        make_deal(session, [("Proposal", "2030-12-16"), ("Won", "2031-03-01")], close_date=date(2031, 3, 1))
        make_deal(session, [("Proposal", "2030-12-17"), ("Lost", "2031-03-15")], close_date=date(2031, 3, 15))
        make_deal(session, [("Qualification", "2030-12-20")], amount="400", close_date=date(2031, 2, 15))
        # Not in the test: created during the quarter, or expected after it.
        make_deal(session, [("Proposal", "2031-02-01"), ("Lost", "2031-02-20")], close_date=date(2031, 2, 20))
        make_deal(session, [("Proposal", "2030-12-01")], close_date=date(2031, 5, 1))
        result = win_rates.back_test(session, date(2031, 5, 10))
        # Learned from everything now, the quarter's closes included: 11 of 16 through Proposal were won;
        # the back-test used 9 of 12, the deals closed before the quarter.
        assert _rates(session)["Proposal"].learned == Decimal("68.8")
    assert (result["start"], result["end"], result["learned_stages"]) == (
        date(2031, 1, 1),
        date(2031, 4, 1),
        2,
    )
    [row] = result["rows"]
    # Configured: 3 x 1000 x 50% + 400 x 25%; learned: 3 x 1000 x 75% (as of Jan 1) + 400 x 25%.
    assert row == {
        "currency": "EUR", "deals": 4, "actual": Decimal("2000.00"),
        "configured": Decimal("1600.00"), "configured_error": Decimal("-400.00"),
        "learned": Decimal("2350.00"), "learned_error": Decimal("350.00"),
        "closer": "learned",
    }  # fmt: skip


def test_the_learned_forecast_weights_open_deals_by_the_used_rates(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        history(session, won=9, lost=3)
        make_deal(session, [("Proposal", "2031-01-05")], amount="200", close_date=date(2031, 2, 1))
        make_deal(session, [("Qualification", "2031-01-05")], amount="100", close_date=date(2031, 2, 1))
        make_deal(
            session,
            [("Proposal", "2031-01-05"), ("Won", "2031-01-20")],
            amount="50",
            close_date=date(2031, 1, 20),
        )
        learned = win_rates.learned_forecast(session, window_scope(date(2031, 1, 1), 3, None, None))
    # Won 50, plus 200 x 76.9% (Proposal: 10 of 13 closed deals won, the one above included), plus
    # 100 x 25% (Qualification: no closed deal went through it, so its configured probability).
    assert learned == {"EUR": Decimal("228.80")}


def test_opposite_histories_give_each_workspace_its_own_rates(tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        history(session, won=12, lost=0)
        a = _rates(session)["Proposal"]
    with tenant_session(tenant_b.ref) as session:
        history(session, won=0, lost=12)
        b = _rates(session)["Proposal"]
    assert (a.learned, b.learned) == (Decimal("100.0"), Decimal("0.0"))


def test_the_page_shows_both_rates_and_says_when_history_is_too_short(client, tenant_a):
    with tenant_session(tenant_a.ref) as session:
        history(session, won=2, lost=1)
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/forecast")
    assert page.status_code == 200
    assert 'id="learned-fallback"' in page.text and "Not enough history yet" in page.text
    row = page.text.split('data-stage="Proposal"', 1)[1].split("</tr>", 1)[0]
    assert "50%" in row and "66.7%" in row and "configured (3 of 10 closed deals)" in row
    assert 'id="back-test"' in page.text
    with tenant_session(tenant_a.ref) as session:
        history(session, won=8, lost=0)
    page = client.get(f"/t/{tenant_a.slug}/forecast")
    row = page.text.split('data-stage="Proposal"', 1)[1].split("</tr>", 1)[0]
    assert 'id="learned-fallback"' not in page.text and "90.9%" in row and ">learned<" in row
