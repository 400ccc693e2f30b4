"""Screenshots of the main pages at desktop (1280 px) and phone (375 px) width, into docs/screenshots/.

``make screenshots`` runs it: the app over an embedded PostgreSQL and Redis of its own
(``instance/screenshots``, kept between runs like ``make dev``'s), the demo workspace of ``make dev``
with a few deals and tickets, served on loopback and photographed by Debian's chromium through
Playwright (never a downloaded browser). Light colour scheme, one viewport per picture, so the PNGs
stay small and comparable from run to run.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
DEALS = (("Acme renewal", "12000.00"), ("Globex expansion", "48000.00"), ("Initech pilot", "7500.00"))
TICKETS = ("The invoice shows the wrong VAT number", "Cannot sign in after the password reset")


def seed(slug: str) -> str:
    """The demo workspace of ``make dev``, with deals and tickets; returns a contact's id to show."""
    from sqlalchemy import select

    from saas.cli import seed_demo_tenant
    from saas.db import db, tenant_session
    from saas.modules.core.models import Contact
    from saas.modules.service.models import Ticket
    from saas.modules.service.tickets import tickets
    from saas.modules.sfa.deals import deals
    from saas.modules.sfa.models import Deal
    from saas.tenants.models import Tenant

    seed_demo_tenant()
    db.session.commit()
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    with tenant_session(tenant.ref) as session:
        contact = session.scalar(select(Contact).order_by(Contact.last_name))
        existing = set(session.scalars(select(Deal.name)))
        for name, amount in DEALS:
            if name not in existing:
                deals.create(session, {"name": name, "amount": Decimal(amount), "close_date": date.today()})
        subjects = set(session.scalars(select(Ticket.subject)))
        for subject in TICKETS:
            if subject not in subjects:
                tickets.create(
                    session,
                    {
                        "subject": subject,
                        "description": "Reported by phone.",
                        "requester_contact_id": contact.id,
                    },
                    actor="seed",
                )
        return str(contact.id)


def main() -> int:
    os.environ.setdefault("SAAS_ENV", "development")
    os.environ.setdefault("SAAS_INSTANCE_DIR", str(ROOT / "instance" / "screenshots"))
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from saas import create_app
    from saas.cli import DEMO, migrate_dev_tenants
    from saas.db import db
    from saas.migrations import upgrade_platform

    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        migrate_dev_tenants()  # a kept instance may hold the demo workspace at an older revision
        contact_id = seed(DEMO["slug"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    workspace = f"/t/{DEMO['slug']}"
    pages = {
        "dashboard": f"{workspace}/",
        "contacts": f"{workspace}/contacts",
        "contact": f"{workspace}/contacts/{contact_id}",
        "deals": f"{workspace}/deals",
        "pipeline": f"{workspace}/pipeline",
        "tickets": f"{workspace}/tickets",
        "settings": f"{workspace}/settings",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for size, viewport in SIZES.items():
            context = browser.new_context(base_url=base, viewport=viewport, color_scheme="light")
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Email").fill(DEMO["email"])
            page.get_by_label("Password").fill(DEMO["password"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for name, path in pages.items():
                page.goto(path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}-{size}.png"))
            if size == "desktop":  # the command palette, open on a search
                page.goto(pages["contacts"])
                page.keyboard.press("Control+k")
                page.locator("#palette-q").press_sequentially("ada")
                page.get_by_role("option", name="Ada Lovelace").wait_for()
                page.screenshot(path=str(OUT / "command-palette-desktop.png"))
            else:  # the sidebar unfolded from its menu
                page.goto(pages["contacts"])
                page.get_by_text("Menu", exact=True).click()
                page.screenshot(path=str(OUT / "menu-phone.png"))
            context.close()
        browser.close()
    server.shutdown()
    print(f"screenshots written to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
