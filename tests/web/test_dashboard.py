"""The tenant dashboard: each enabled module's cards (registry ``dashboard`` hooks) as SVG charts with a
table of the same figures; empty cards say what will show; figures follow the data; a switched-off
module's cards go; another tenant's figures never show."""

from __future__ import annotations

from datetime import UTC, datetime

from saas.modules.registry import DashboardCard, Series
from saas.web.dashboard import chart, compact, nice_top
from tests.conftest import csrf_token_from, login
from tests.web.conftest import add_records, card_cells, stage_named, switch


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def test_a_new_workspace_sees_empty_cards_that_say_what_comes(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/")
    assert page.status_code == 200
    for key in ("sfa.pipeline", "sfa.forecast", "sfa.new_leads", "core.new_contacts"):
        assert f'data-card="{key}"' in page.text, key
    assert "No open deals yet" in page.text and "No contacts yet" in page.text
    assert "<svg" not in page.text.split('class="cards"')[1]  # no empty charts


def test_cards_chart_the_tenants_figures_and_a_stage_move_changes_the_forecast(client, tenant_a):
    records = add_records(tenant_a, "Zyx")
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/").text
    assert card_cells(page, "sfa.pipeline")[("Prospecting", "EUR")] == "1,000"
    assert "1 open deal worth 1,000.00 EUR." in page
    forecast = card_cells(page, "sfa.forecast.eur")
    assert forecast[(this_month(), "Weighted")] == "100"  # 10 % of 1,000 in Prospecting
    assert forecast[(this_month(), "Best case")] == "1,000"
    assert sum(int(v) for (_, series), v in card_cells(page, "sfa.new_leads").items()) == 1
    assert sum(int(v) for v in card_cells(page, "core.new_contacts").values()) == 1
    chart_part = page.split('data-card="sfa.pipeline"')[1].split("</li>")[0]
    assert '<svg viewBox="0 0 480 220" role="img"' in chart_part and "<rect" in chart_part

    board = client.get(f"{base}/pipeline").text
    deal_id = records["deal"]
    moved = client.post(
        f"{base}/deals/{deal_id}/move",
        data={"stage_id": stage_named(tenant_a, "Negotiation"), "csrf_token": csrf_token_from(board)},
    )
    assert moved.status_code in (302, 303)
    after = client.get(f"{base}/").text
    assert card_cells(after, "sfa.forecast.eur")[(this_month(), "Weighted")] == "750"
    assert card_cells(after, "sfa.pipeline")[("Negotiation", "EUR")] == "1,000"


def test_another_tenants_figures_never_show(client, tenant_a, tenant_b):
    add_records(tenant_a, "Secretco")
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/").text
    assert "No open deals yet" in page and "No contacts yet" in page
    assert "Secretco" not in page and "1,000" not in page
    # Nor by naming tenant A's workspace: the slug chooses only among one's own memberships.
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 404


def test_a_switched_off_module_takes_its_cards_along_and_brings_them_back(client, tenant_a):
    add_records(tenant_a, "Offco")
    login(client, tenant_a.email, tenant_a.password)
    switch(tenant_a, "sfa", False)
    page = client.get(f"/t/{tenant_a.slug}/").text
    assert 'data-card="sfa.' not in page and 'data-card="core.new_contacts"' in page
    switch(tenant_a, "sfa", True)
    assert 'data-card="sfa.pipeline"' in client.get(f"/t/{tenant_a.slug}/").text


def test_chart_geometry_scales_to_a_round_top_and_leaves_empty_cards_undrawn():
    card = DashboardCard("t.x", "X", ("a", "b"), (Series("one", (30.0, 120.0)), Series("two", (0.0, 60.0))))
    geometry = chart(card)
    assert geometry is not None and len(geometry.bars) == 4
    tallest = max(geometry.bars, key=lambda bar: bar.height)
    assert (tallest.label, tallest.value) == ("b", 120.0)
    assert geometry.y_ticks[-1][1] == "150"  # 120 rounds up to 150
    assert all(bar.y + bar.height <= geometry.plot[3] + 0.01 for bar in geometry.bars)
    assert chart(DashboardCard("t.e", "E", ("a",), (Series("one", (0.0,)),))) is None
    line = chart(DashboardCard("t.l", "L", ("a", "b"), (Series("one", (1.0, 2.0)),), kind="line"))
    assert line is not None and len(line.lines) == 1 and not line.bars
    assert (nice_top(0), nice_top(7), nice_top(1200), round(nice_top(0.3), 9), nice_top(3000)) == (
        1,
        8,
        1500,
        0.3,
        3000,
    )
    # Counts get whole-number ticks.
    counts = chart(DashboardCard("t.c", "C", ("a", "b"), (Series("n", (3.0, 1.0)),)))
    assert counts is not None and [text for _, text in counts.y_ticks] == ["0", "1", "2", "3", "4"]
    assert (compact(950), compact(12500), compact(3_200_000)) == ("950", "12.5k", "3.2M")
