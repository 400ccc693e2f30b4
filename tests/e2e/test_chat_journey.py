"""Live chat end to end: a website on another origin (a static page on loopback) includes the widget's
one script tag; its visitor chats with an agent who answers live from the CRM's inbox in another browser
context; the agent ends the chat and it becomes a ticket with the transcript. Neither browser asks any
host but the site and the CRM for anything."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.service.models import Ticket
from tests.chat.conftest import always_open, closed_for_now
from tests.e2e.conftest import Browsers, LiveServer, sign_in
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture

WEBSITE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>The customer's shop</h1>
<script src="{script}" async></script>
</body></html>"""


@pytest.fixture
def website(live_server: LiveServer, tenant_a) -> Iterator[str]:
    """The workspace's customer's website: one static page, served from another port (another origin)."""
    page = WEBSITE.format(script=f"{live_server.url}/chat/{tenant_a.slug}/widget.js").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            if self.path == "/":
                self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, name="e2e-website", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _visitor_page(browser: Browser, website: str, live_server: LiveServer, foreign: list[str]):
    """The visitor's browser: it may reach the website and the CRM (the widget's home), nothing else."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    allowed = {urlsplit(website).netloc, live_server.netloc}

    def check(route, request) -> None:
        if urlsplit(request.url).netloc in allowed or request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(request.url)
            route.abort()

    context.route("**/*", check)
    return context, context.new_page()


def test_a_website_visitor_chats_with_an_agent_live_and_the_chat_becomes_a_ticket(
    browsers: Browsers,
    browser: Browser,
    live_server: LiveServer,
    website: str,
    tenant_a,
    mail_sink,  # noqa: F811
):
    always_open(tenant_a)
    agent = browsers.new_page()
    sign_in(agent, tenant_a.email)
    agent.goto(f"/t/{tenant_a.slug}/chat")
    expect(agent.get_by_text("No open chats.")).to_be_visible()

    foreign: list[str] = []
    context, visitor = _visitor_page(browser, website, live_server, foreign)
    try:
        visitor.goto(website)
        visitor.get_by_role("button", name="Chat with us").click()
        visitor.get_by_label("Your name (optional)").fill("Vera Visitor")
        visitor.get_by_label("Your email (optional)").fill("vera@customer.example")
        visitor.get_by_label("Your message").fill("Is the blue kettle in stock?")
        visitor.get_by_role("button", name="Start chat").click()
        expect(visitor.locator("#crm-chat li")).to_have_count(1)

        # The agent's inbox lists the waiting chat by itself (no reload).
        agent.get_by_role("link", name="Vera Visitor").click()
        expect(agent.get_by_text("Is the blue kettle in stock?")).to_be_visible()
        agent.get_by_label("Answer").fill("Yes, three left!")
        agent.get_by_role("button", name="Send", exact=True).click()

        expect(visitor.locator("#crm-chat li").nth(1)).to_contain_text("Yes, three left!")
        visitor.get_by_label("Your message").fill("Great, I'll order one.")
        visitor.get_by_role("button", name="Send", exact=True).click()
        expect(agent.get_by_text("Great, I'll order one.")).to_be_visible()  # arrives live

        agent.get_by_role("button", name="End chat and file as ticket").click()
        expect(agent.get_by_role("heading", level=1)).to_contain_text("Chat: Is the blue kettle in stock?")
        description = agent.get_by_role("region", name="Description")
        for line in ("Vera Visitor: Is the blue kettle in stock?", "Support: Yes, three left!",
                     "Vera Visitor: Great, I'll order one."):  # fmt: skip
            expect(description).to_contain_text(line)
        expect(visitor.get_by_text("This chat has ended. Thank you!")).to_be_visible()

        # Later she signs in to the workspace's customer hub: the chat, its ticket and her consents.
        hub = browsers.new_page()
        hub.goto(f"/hub/{tenant_a.slug}/")
        hub.get_by_label("Email").fill("vera@customer.example")
        hub.get_by_role("button", name="Send me a link").click()
        make_worker().work(burst=True)  # the mail goes out from a job
        [message] = mail_sink.to("vera@customer.example")
        hub.goto(re.search(r"https?://\S+/enter/\S+", message.get_content()).group(0))
        hub.get_by_role("button", name="Continue").click()
        chats = hub.locator("#hub-chats")
        expect(chats).to_contain_text("ended")
        chats.locator("summary").click()
        expect(chats).to_contain_text("Great, I'll order one.")
        expect(hub.locator("#hub-tickets")).to_contain_text("Chat: Is the blue kettle in stock?")
        expect(hub.locator("#hub-consents")).to_be_visible()  # next to her consents, one sign-in
    finally:
        context.close()
    assert foreign == []


def test_off_hours_the_widget_takes_a_message_that_becomes_a_ticket(
    browser: Browser, live_server: LiveServer, website: str, tenant_a
):
    closed_for_now(tenant_a)
    foreign: list[str] = []
    context, visitor = _visitor_page(browser, website, live_server, foreign)
    try:
        visitor.goto(website)
        visitor.get_by_role("button", name="Chat with us").click()
        expect(visitor.get_by_role("heading", name="Leave us a message")).to_be_visible()
        visitor.get_by_label("Your message").fill("Please call me about the kettle.")
        visitor.get_by_role("button", name="Send message").click()
        expect(visitor.get_by_role("alert")).to_contain_text("email")  # an address is needed to answer
        visitor.get_by_label("Your email").fill("otto@customer.example")
        visitor.get_by_role("button", name="Send message").click()
        expect(visitor.get_by_text("Thank you! We will answer by email.")).to_be_visible()
    finally:
        context.close()
    assert foreign == []
    with tenant_session(tenant_a.ref) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.description == "Please call me about the kettle." and ticket.tags == ["chat"]
