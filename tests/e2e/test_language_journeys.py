"""The product's journeys in Russian, Chinese and Persian, in a real browser whose language is that one:
a company signs up, sets its workspace language, creates a contact with a native name and finds it by
typing the name the way a keyboard of that language gives it, sells in US dollars and reads the
dashboard in its base currency (euros) with the rate used, and one of its customers uses the customer
hub in their own language. Persian also checks ``dir="rtl"`` and that a phone never scrolls sideways.

Every expected text comes from the catalogs (``tr``), so a journey fails on an untranslated page and
never on a rewording of a translation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import gettext
from playwright.sync_api import Page, expect
from sqlalchemy import select

from saas.db import db, tenant_session
from saas.i18n import in_locale
from saas.modules.core.models import Contact
from saas.modules.privacy import consent
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, PHONE, Browsers, open_context, sign_in
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture


@dataclass(frozen=True)
class Journey:
    locale: str
    """The product's locale code (``saas.i18n.LANGUAGES``)."""
    browser_locale: str
    """What the browser says it reads (Playwright's ``locale``, sent as ``Accept-Language``)."""
    html_lang: str
    direction: str
    first_name: str
    last_name: str
    typed: str
    """The name as a native speaker types it into the search: another letter form, or the other order."""


JOURNEYS = [
    # «Петр» without the diaeresis, as most Russian keyboards and people type it.
    Journey("ru", "ru-RU", "ru", "ltr", "Пётр", "Иванов", "Петр"),
    # Family name first with no space is how the name is written; typed the other way round it still finds.
    Journey("zh_Hans", "zh-CN", "zh-Hans", "ltr", "小明", "王", "小明王"),
    # Stored with the Persian yeh (ی), typed with the Arabic one (ي), as an Arabic keyboard gives it.
    Journey("fa", "fa-IR", "fa", "rtl", "محمد", "رضایی", "محمد رضايي"),
]


def tr(app: Flask, locale: str, message: str, **values) -> str:
    """``message`` as the catalog of ``locale`` words it, with ``values`` filled in."""
    with app.test_request_context(), in_locale(locale):
        return gettext(message, **values)


def new_page(browsers: Browsers, locale: str, *, phone: bool = False) -> Page:
    """A page of a browser that reads ``locale``, its requests checked like every journey's."""
    viewport = (
        {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        if phone
        else {"viewport": DESKTOP}
    )
    context = open_context(browsers.browser, browsers.server, browsers.log, locale=locale, **viewport)
    browsers.contexts.append(context)
    page = context.new_page()
    browsers.pages.append(page)
    return page


def sideways_overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def check_direction(page: Page, journey: Journey) -> None:
    html = page.locator("html")
    expect(html).to_have_attribute("lang", journey.html_lang)
    expect(html).to_have_attribute("dir", journey.direction)


def sign_up(page: Page, app: Flask, sink, journey: Journey) -> str:
    """Signs a company up through the signup page and its mailed link; returns the workspace's slug."""
    from saas.jobs import make_worker

    t = lambda message, **values: tr(app, journey.locale, message, **values)  # noqa: E731
    page.goto("/signup")
    check_direction(page, journey)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Start your free trial"))
    slug = f"{journey.html_lang.lower()}-{uuid.uuid4().hex[:6]}"
    email = f"founder@{slug}.example"
    page.get_by_label(t("Company name")).fill(f"Samovar {slug}")
    page.get_by_label(t("Workspace address")).fill(slug)
    page.get_by_label(t("Your work email")).fill(email)
    page.locator('input[name="accept_terms"]').check()  # its label holds two links
    page.get_by_role("button", name=t("Email me the link")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Check your mail"))

    make_worker().work(burst=True)
    [message] = sink.to(email)
    link = re.search(r"https?://\S+/signup/confirm/\S+", message.get_content())
    assert link, "the mail holds no signup link"
    page.goto(link.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Create your workspace"))
    page.get_by_label(t("Choose your password")).fill(PASSWORD)
    page.get_by_role("button", name=t("Create my workspace")).click()
    expect(page).to_have_url(re.compile(rf"/t/{slug}/\?welcome=1$"))
    return slug


@pytest.mark.parametrize("journey", JOURNEYS, ids=[j.locale for j in JOURNEYS])
def test_a_company_and_its_customer_use_the_product_in_their_language(
    browsers: Browsers,
    app,
    app_ctx,
    monkeypatch,
    mail_sink,  # noqa: F811
    journey: Journey,
):
    from saas.jobs import make_worker

    t = lambda message, **values: tr(app, journey.locale, message, **values)  # noqa: E731
    # A bucket of its own: three signups from 127.0.0.1 must not eat the other journeys' allowance.
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "100 per hour")
    page = new_page(browsers, journey.browser_locale)
    slug = sign_up(page, app, mail_sink, journey)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    nav = page.get_by_role("navigation", name=t("Main"))
    expect(nav.get_by_role("link", name=t("Dashboard"), exact=True)).to_be_visible()

    # The workspace's own default language, so its pages and mail no longer hang on each browser.
    page.goto(f"/t/{slug}/settings/language")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Language and time zone"))
    page.get_by_label(t("Default language")).select_option(journey.locale)
    page.get_by_role("button", name=t("Save")).click()
    expect(page.locator("main")).to_contain_text(t("The workspace's language and time zone are saved."))
    db.session.expire_all()
    assert db.session.get(Tenant, tenant.id).locale == journey.locale

    # A contact with a native name, found by the name as typed on that language's keyboard.
    page.goto(f"/t/{slug}/contacts/new")
    page.get_by_role("textbox", name=t("First name"), exact=True).fill(journey.first_name)
    page.get_by_role("textbox", name=t("Last name"), exact=True).fill(journey.last_name)
    page.get_by_label(t("Email")).fill(f"customer@{slug}.example")
    page.get_by_role("button", name=t("Save")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(journey.first_name)
    contact_url = page.url
    search = page.get_by_role("search")
    search.get_by_label(t("Search this workspace")).fill(journey.typed)
    search.get_by_role("button", name=t("Search")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Search"))
    hit = page.locator(".results li").first  # the only hit
    expect(page.locator(".results li")).to_have_count(1)
    expect(hit).to_contain_text(journey.first_name)
    expect(hit).to_contain_text(journey.last_name)
    hit.get_by_role("link").click()
    assert page.url == contact_url

    # A deal in US dollars; the workspace counts in euros, at the rate an admin entered.
    rate_day = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    # On a right-to-left page the rate is one left-to-right unit (isolated), else it reads "USD = 0.9 EUR 1".
    usd_in_eur = "1 USD = 0.9 EUR"
    if journey.direction == "rtl":
        usd_in_eur = f"\u2066{usd_in_eur}\u2069"
    page.goto(f"/t/{slug}/settings/currencies")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Currencies"))
    expect(page.get_by_label(t("Base currency (ISO code)"))).to_have_value("EUR")
    page.get_by_label(t("Currency"), exact=True).fill("USD")
    page.get_by_label(t("1 unit is worth (%(base)s)", base="EUR")).fill("0.9")
    page.get_by_label(t("Valid from")).fill(rate_day)
    page.get_by_role("button", name=t("Save rate")).click()
    saved = t("%(equation)s from %(day)s.", equation=usd_in_eur, day=rate_day)
    expect(page.get_by_role("status")).to_contain_text(saved)
    rates = page.locator("section", has=page.get_by_role("heading", name=t("Rates in %(base)s", base="EUR")))
    expect(rates.locator("tr", has_text="USD")).to_contain_text("0.9")

    page.goto(f"/t/{slug}/deals/new")
    page.get_by_label(t("Name")).fill("Samovars for Tehran, Moscow and Shanghai")
    page.get_by_label(t("Amount")).fill("1000")
    page.get_by_label(t("Currency")).fill("USD")
    page.get_by_label(t("Expected close date")).fill(datetime.now(UTC).date().isoformat())
    page.get_by_role("button", name=t("Save")).click()
    expect(page.get_by_role("status")).to_contain_text(t("Deal saved."))

    nav.get_by_role("link", name=t("Dashboard"), exact=True).click()
    pipeline = page.locator('[data-card="sfa.pipeline"]')
    used = t("%(equation)s of %(date)s", equation=usd_in_eur, date=rate_day)
    in_euros = format_decimal(Decimal("900"), "#,##0.00", locale=journey.locale)
    expect(pipeline).to_contain_text(f"{in_euros} EUR ({used})")
    forecast = page.locator('[data-card="sfa.forecast.base"]')
    expect(forecast).to_contain_text(t("Forecast, all currencies in %(currency)s", currency="EUR"))
    expect(forecast).to_contain_text(usd_in_eur)

    # Her customer: the contact reads this language, and so does the hub she signs in to by mail.
    with tenant_session(tenant.ref) as session:
        contact = session.scalar(select(Contact).where(Contact.email == f"customer@{slug}.example"))
        contact.preferred_locale = journey.locale
        staff = consent.ConsentContext(source="staff", actor="e2e")
        consent.record_consent(session, contact.id, "email_marketing", "granted", staff)
    customer = new_page(browsers, journey.browser_locale, phone=journey.direction == "rtl")
    customer.goto(f"/hub/{slug}/")
    check_direction(customer, journey)
    customer.get_by_label(t("Email")).fill(f"customer@{slug}.example")
    customer.get_by_role("button", name=t("Send me a link")).click()
    make_worker().work(burst=True)
    [message] = mail_sink.to(f"customer@{slug}.example")
    assert message["Subject"] == t("Your sign-in link for %(name)s", name=tenant.name)
    link = re.search(r"https?://\S+/enter/\S+", message.get_content())
    assert link, "the mail holds no link"
    customer.goto(link.group(0))
    customer.get_by_role("button", name=t("Continue")).click()
    expect(customer.get_by_role("heading", level=1)).to_have_text(
        t("Hello %(name)s", name=journey.first_name)
    )
    check_direction(customer, journey)
    consents = customer.locator("#hub-consents")
    expect(consents.get_by_role("heading", level=2)).to_have_text(t("Your consents"))
    row = consents.locator("tr", has=customer.get_by_role("button", name=t("Withdraw")))
    expect(row).to_contain_text(t("agreed"))
    row.get_by_role("button", name=t("Withdraw")).click()
    expect(consents.locator("tbody tr").first).to_contain_text(t("withdrawn"))

    if journey.direction == "rtl":
        # A phone in Persian: the hub and the staff contact page mirror and never scroll sideways.
        assert sideways_overflow(customer) <= 0, "the hub scrolls sideways on a phone"
        # The founder's phone reads English: the sign-in page (no workspace yet) speaks it, the
        # workspace's pages speak the workspace's default language.
        phone = new_page(browsers, "en-US", phone=True)
        sign_in(phone, f"founder@{slug}.example")
        phone.goto(contact_url)
        expect(phone.get_by_role("heading", level=1)).to_contain_text(journey.first_name)
        check_direction(phone, journey)
        assert sideways_overflow(phone) <= 0, "the contact page scrolls sideways on a phone"
