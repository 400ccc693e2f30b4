"""Website activity end to end: the workspace's customer's site (static pages on another loopback port)
includes the tracking script and asks for consent with its own banner. A visitor who accepts browses two
pages and submits the workspace's form embedded on the second; staff then find both pages on the new
contact's page. A visitor who does not accept causes no request to the tracking endpoint and no cookie."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from saas.db import tenant_session
from saas.modules.core.models import Contact
from tests.conftest import bearer, make_token
from tests.e2e.conftest import Browsers, LiveServer, sign_in
from tests.modules.website.conftest import generous_rate_limits, list_site  # noqa: F401 (autouse fixture)

# The site's own consent banner: its choice lives in its own cookie, and it tells the script on each page.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="{script}"></script></head>
<body><h1>{title}</h1>
<nav><a href="/">Home</a> <a href="/pricing">Pricing</a></nav>
<div id="banner"><button id="accept">Accept analytics</button></div>
{extra}
<script>
  if (document.cookie.indexOf("site_consent=yes") !== -1) OpenCRM.consent(true);
  document.getElementById("accept").onclick = function () {{
    document.cookie = "site_consent=yes; Path=/";
    OpenCRM.consent(true);
  }};
</script>
</body></html>"""


@pytest.fixture
def form_url(app, tenant_a) -> str:
    client = app.test_client()
    body = {"name": "Talk to sales", "fields": ["first_name", "email"], "purposes": [], "create_lead": False}
    response = client.post("/api/v1/marketing/forms", json=body, headers=bearer(make_token(tenant_a)))
    assert response.status_code == 201, response.json
    return response.json["public_url"]


@pytest.fixture
def website(live_server: LiveServer, tenant_a, form_url: str) -> Iterator[str]:
    """The customer's site: a home page and a pricing page with the workspace's form in a frame."""
    script = f"{live_server.url}/w/{tenant_a.slug}/track.js"
    form = live_server.url + urlsplit(form_url).path
    frame = f'<iframe title="Talk to sales" src="{form}" width="600" height="500"></iframe>'
    pages = {
        "/": PAGE.format(title="Home", script=script, extra="").encode(),
        "/pricing": PAGE.format(title="Pricing", script=script, extra=frame).encode(),
    }

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, name="e2e-site", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    list_site(tenant_a, url)
    yield url
    server.shutdown()
    server.server_close()


def _visitor(
    browser: Browser, website: str, live_server: LiveServer, requests: list[str], foreign: list[str]
):
    """The visitor's browser: the site and the CRM only; every request is logged."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    allowed = {urlsplit(website).netloc, live_server.netloc}

    def check(route, request) -> None:
        requests.append(f"{request.method} {request.url}")
        if urlsplit(request.url).netloc in allowed:
            route.continue_()
        else:
            foreign.append(request.url)
            route.abort()

    context.route("**/*", check)
    return context, context.new_page()


def _tracking_cookies(context) -> list[str]:
    return [cookie["name"] for cookie in context.cookies() if cookie["name"].startswith("ocrm_")]


def test_a_consenting_visitors_pages_appear_on_the_contact_they_become(
    browsers: Browsers, browser: Browser, live_server: LiveServer, website: str, tenant_a
):
    requests: list[str] = []
    foreign: list[str] = []
    context, visitor = _visitor(browser, website, live_server, requests, foreign)
    events = f"POST {live_server.url}/w/{tenant_a.slug}/events"
    try:
        visitor.goto(website)
        with visitor.expect_response(lambda r: r.url.endswith("/events") and r.status == 202):
            visitor.get_by_role("button", name="Accept analytics").click()
        assert sorted(_tracking_cookies(context)) == ["ocrm_sid", "ocrm_vid"]
        with visitor.expect_response(lambda r: r.url.endswith("/events") and r.status == 202):
            visitor.get_by_role("link", name="Pricing").click()
        # The script gave the embedded form the visitor's id; the visitor fills it in.
        frame = visitor.frame_locator("iframe[title='Talk to sales']")
        expect(frame.locator("input[name=visitor_id]")).to_have_count(1)
        frame.get_by_label("First name (required)").fill("Petra")
        frame.get_by_label("Email (required)").fill("petra@customer.example")
        frame.get_by_role("button", name="Send").click()
        expect(frame.get_by_role("status")).to_be_visible()
    finally:
        context.close()
    assert foreign == [] and sum(r == events for r in requests) == 2

    with tenant_session(tenant_a.ref) as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email == "petra@customer.example"))
    staff = browsers.new_page()
    sign_in(staff, tenant_a.email)
    staff.goto(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    panel = staff.get_by_role("region", name="Website visits")
    expect(panel.locator(".website-path")).to_have_text(["/pricing", "/"])
    expect(panel).to_contain_text("2 page views")


def test_without_consent_the_script_sends_nothing_and_sets_no_cookie(
    browser: Browser, live_server: LiveServer, website: str, tenant_a
):
    requests: list[str] = []
    foreign: list[str] = []
    context, visitor = _visitor(browser, website, live_server, requests, foreign)
    try:
        visitor.goto(website)
        visitor.get_by_role("link", name="Pricing").click()
        expect(visitor.get_by_role("heading", name="Pricing")).to_be_visible()
        visitor.evaluate("() => new Promise(resolve => setTimeout(resolve, 1500))")  # past the batch timer
        visitor.goto(website)  # leaving a page would send a queued batch: there is none
        assert _tracking_cookies(context) == []
        assert visitor.evaluate("() => document.cookie") == ""
    finally:
        context.close()
    # The script was loaded on each page (three), and nothing else went to the tracking routes.
    script = f"GET {live_server.url}/w/{tenant_a.slug}/track.js"
    assert foreign == [] and [r for r in requests if "/w/" in r] == [script] * 3
