"""The workspace shell in a real browser: the command palette (Ctrl-K) and the shortcuts overlay (?) by
keyboard alone, the sidebar folded into a menu on a phone, and the accessibility check every journey runs.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsers, add_rep, sign_in
from tests.privacy.conftest import add_contact

PHONE_TALL = {"width": 375, "height": 812}  # an iPhone X-class phone's CSS viewport


def horizontal_overflow(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_salesperson_jumps_to_a_contact_with_the_palette_reads_the_shortcuts_and_starts_a_deal(
    browsers: Browsers, tenant_a
):
    contact_id = add_contact(
        tenant_a, first_name="Wilhelmina", last_name="Quaresma", email="wq@quaresma.example"
    )
    page = browsers.new_page()
    sign_in(page, add_rep(tenant_a))
    page.goto(f"/t/{tenant_a.slug}/")
    palette = page.get_by_role("dialog", name="Go to a page or record, or run an action")
    combobox = palette.get_by_role("combobox")

    page.keyboard.press("Control+k")
    expect(palette).to_be_visible()
    expect(combobox).to_be_focused()
    combobox.press_sequentially("Quaresma")
    option = palette.get_by_role("option", name=re.compile("Wilhelmina Quaresma"))
    expect(option).to_have_attribute("aria-selected", "true")
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(combobox).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/t/{tenant_a.slug}/contacts/{contact_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wilhelmina")

    # A page's own commands (data-command) come first; choosing one clicks it. Enter typed before the
    # answers arrive goes to the first choice for what was typed.
    page.evaluate(
        """() => {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = "Wave";
          button.dataset.command = "Wave hello";
          button.addEventListener("click", () => { button.dataset.clicked = "yes"; });
          document.querySelector("main").append(button);
        }"""
    )
    page.keyboard.press("Control+k")
    combobox.press_sequentially("wave h")
    page.keyboard.press("Enter")
    command = page.locator('[data-command="Wave hello"]')
    expect(command).to_have_attribute("data-clicked", "yes")
    expect(command).to_be_focused()
    expect(palette).to_be_hidden()

    # "?" while typing in a field is the field's; elsewhere it opens the shortcuts, Escape closes them.
    help_overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    search = page.get_by_role("searchbox", name="Search this workspace")
    search.focus()
    page.keyboard.press("?")
    expect(help_overlay).to_be_hidden()
    expect(search).to_have_value("?")
    search.fill("")
    page.locator("main h1").click()
    page.keyboard.press("?")
    expect(help_overlay).to_be_visible()
    expect(help_overlay).to_contain_text("Open the command palette")
    page.keyboard.press("Escape")
    expect(help_overlay).to_be_hidden()
    # The visible link opens the same overlay, and focus goes back to it on closing.
    link = page.get_by_role("link", name="Keyboard shortcuts")
    link.click()
    expect(help_overlay).to_be_visible()
    help_overlay.get_by_role("button", name="Close").click()
    expect(link).to_be_focused()

    # Escape closes the palette and returns focus to the button that opened it.
    opener = page.get_by_role("button", name=re.compile("Go to"))
    opener.click()
    expect(combobox).to_be_focused()
    page.keyboard.press("Escape")
    expect(palette).to_be_hidden()
    expect(opener).to_be_focused()

    # An action: arrows move through the choices, Enter runs the chosen one.
    page.keyboard.press("Control+k")
    combobox.press_sequentially("new")
    new_deal = palette.get_by_role("option", name=re.compile("New deal"))
    expect(new_deal).to_be_visible()
    for _ in range(palette.get_by_role("option").count()):
        if new_deal.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    expect(new_deal).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/t/{tenant_a.slug}/deals/new")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_the_main_pages_fit_a_phone_the_sidebar_folds_into_a_menu_and_dark_mode_keeps_contrast(
    browsers: Browsers, tenant_a
):
    contact_id = add_contact(
        tenant_a,
        first_name="Konstantinopoulou-Papadimitriou",
        last_name="Evangelia",
        email="evangelia.konstantinopoulou-papadimitriou@a-long-domain-name.example",
    )
    page = browsers.new_page(phone=True, viewport=PHONE_TALL)
    sign_in(page, tenant_a.email)
    slug = tenant_a.slug
    for path in (
        f"/t/{slug}/",
        f"/t/{slug}/contacts",
        f"/t/{slug}/contacts/{contact_id}",
        f"/t/{slug}/deals",
        f"/t/{slug}/tickets",
        f"/t/{slug}/settings",
        f"/t/{slug}/shortcuts",
    ):
        assert page.goto(path).status == 200, path
        expect(page.locator("main h1")).to_be_visible()
        assert horizontal_overflow(page) <= 0, f"{path} scrolls sideways on a phone"
        expect(page.get_by_role("search").first).to_be_visible()

    page.goto(f"/t/{slug}/contacts")
    nav = page.get_by_role("navigation", name="Main")
    deals = nav.get_by_role("link", name="Deals", exact=True)
    expect(deals).to_be_hidden()  # folded away until asked for
    page.get_by_text("Menu", exact=True).click()
    expect(deals).to_be_visible()
    expect(nav.get_by_role("link", name="Contacts", exact=True)).to_have_attribute("aria-current", "page")
    assert horizontal_overflow(page) <= 0
    deals.click()
    page.wait_for_url(f"**/t/{slug}/deals")
    # On a wide screen the same sidebar is simply there.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(nav.get_by_role("link", name="Deals", exact=True)).to_be_visible()

    # Dark mode follows the system's choice, and keeps its contrast (axe checks each page on load).
    page.emulate_media(color_scheme="dark")
    for path in (f"/t/{slug}/", f"/t/{slug}/contacts/{contact_id}", f"/t/{slug}/deals/new"):
        page.goto(path)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
    browsers.check_accessibility()


def test_the_accessibility_check_fails_a_page_with_a_serious_violation(browsers: Browsers, tenant_a):
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/contacts")
    browsers.check_accessibility()
    assert browsers.accessibility.checked and browsers.accessibility.violations == []
    # A button with no name and grey text on grey: what a careless template would ship.
    page.evaluate(
        """document.querySelector('main').insertAdjacentHTML('beforeend',
        '<button type="button"></button><p style="color:#aaa;background:#bbb">faint</p>')"""
    )
    browsers.check_accessibility()
    found = " ".join(browsers.accessibility.violations)
    assert "critical button-name" in found and "serious color-contrast" in found
    # Seen, and not the app's: the page as served again, so the journey's own end check passes.
    page.goto(f"/t/{tenant_a.slug}/contacts")
    browsers.accessibility.violations.clear()
