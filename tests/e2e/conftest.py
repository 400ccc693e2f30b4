"""End-to-end fixtures: the app as a real HTTP server on loopback (werkzeug, in a thread, over the
embedded PostgreSQL and Redis), driven by Playwright through Debian's own ``chromium`` package.

Never a downloaded browser: ``.ci/run`` installs ``chromium`` with apt when ``/usr/bin/chromium`` is
missing. Every page's requests go through a route that records their host; a request to any other
host than the server's fails the test (and is aborted, so nothing leaves the machine). A failing
journey leaves a screenshot under ``$E2E_SCREENSHOTS`` (default ``instance/e2e-screenshots``).

Every page a journey loads is checked by axe-core (the npm package pinned in ``tests/e2e/axe/``, installed
by ``npm ci`` once per lock file under ``instance/e2e-axe/``): a serious or critical violation fails the
journey at its end, listed by page and rule.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from saas.auth.services import add_member
from saas.db import db
from tests.conftest import PASSWORD, TenantFixture
from tests.npm_packages import install_locked

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS", ROOT / "instance" / "e2e-screenshots"))
PHONE = {"width": 375, "height": 667}  # an iPhone SE's CSS viewport
DESKTOP = {"width": 1280, "height": 900}
AXE_PACKAGE = Path(__file__).parent / "axe"
AXE_CACHE = ROOT / "instance" / "e2e-axe"
AXE_FAILING_IMPACTS = ("serious", "critical")


@dataclass
class LiveServer:
    url: str

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    """The test app served over HTTP on 127.0.0.1 (a free port), one thread per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with `apt-get install -y chromium`")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",  # CI containers run without the user namespaces the sandbox needs
            "--disable-background-networking",  # no update checks, no safe browsing, no field trials
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--no-first-run",
            "--metrics-recording-only",
        ],
    )
    yield browser
    browser.close()


def _install_axe() -> Path:
    """axe-core's browser build as locked in ``tests/e2e/axe`` (``npm ci``, once per lock file)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required by the accessibility checks of the journeys (apt-get install -y npm)")
    marker = Path("node_modules") / "axe-core" / "axe.min.js"
    return install_locked(npm, AXE_PACKAGE, AXE_CACHE, str(marker)) / marker


@pytest.fixture(scope="session")
def axe_script() -> Path:
    return _install_axe()


# Runs in the page once axe is loaded; only what fails a journey comes back, small enough to print. Runs
# queue behind each other: the load event's check and the journey's last one may overlap, axe refuses that.
AXE_RUN = """async (impacts) => {
  const previous = window.__axeQueue || Promise.resolve();
  const run = previous.catch(() => null).then(() => axe.run(document, {resultTypes: ["violations"]}));
  window.__axeQueue = run;
  const results = await run;
  return results.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    rule: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


@dataclass
class AccessibilityLog:
    """Each page checked by axe in one journey, and the serious or critical violations found."""

    script: Path
    checked: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    source: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.source = self.script.read_text()

    def check(self, page: Page) -> None:
        """Runs axe on the page as it is now; a page left before axe finished is skipped, not failed."""
        url = page.url
        if page.is_closed() or not url.startswith("http"):
            return
        try:
            if page.evaluate("() => document.contentType") != "text/html":
                return  # an image or a download opened as a page (a tracking pixel): no document to check
            # Evaluated over the DevTools protocol, so the app's Content Security Policy (scripts from
            # its own files only) needs no exception for the test's script.
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.evaluate(self.source)
            found = page.evaluate(AXE_RUN, list(AXE_FAILING_IMPACTS))
        except Error as error:
            if page.is_closed() or "context was destroyed" in str(error) or "navigat" in str(error):
                return
            raise
        self.checked.append(url)
        for violation in found:
            self.violations.append(
                f"{urlsplit(url).path}: {violation['impact']} {violation['rule']} ({violation['help']}) "
                f"at {', '.join(violation['targets'])}"
            )


@dataclass
class RequestLog:
    """Every request the browser made in one test, and those to another host than the app's."""

    own: str
    hosts: set[str] = field(default_factory=set)
    foreign: list[str] = field(default_factory=list)


def open_context(browser: Browser, server: LiveServer, log: RequestLog, **options) -> BrowserContext:
    context = browser.new_context(base_url=server.url, **options)
    context.set_default_timeout(15_000)

    def check(route, request) -> None:
        host = urlsplit(request.url).netloc
        if request.url.startswith(("data:", "blob:")):
            route.continue_()
            return
        log.hosts.add(host)
        if host != server.netloc:
            log.foreign.append(request.url)
            route.abort()  # recorded, and never sent
        else:
            route.continue_()

    context.route("**/*", check)
    return context


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed journey at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _screenshot_on_failure(request, pages: list[Page]) -> None:
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for number, page in enumerate(pages):
        if not page.is_closed():
            path = SCREENSHOTS / f"{name}-{number}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failed journey: {path}")


class Browsers:
    """Opens pages (desktop or phone) whose every request is checked; see ``new_page``."""

    def __init__(self, browser: Browser, server: LiveServer, axe: Path) -> None:
        self.browser, self.server = browser, server
        self.log = RequestLog(own=server.netloc)
        self.accessibility = AccessibilityLog(axe)
        self.contexts: list[BrowserContext] = []
        self.pages: list[Page] = []

    def new_page(self, *, phone: bool = False, viewport: dict[str, int] | None = None) -> Page:
        options = (
            {"viewport": viewport or PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
            if phone
            else {"viewport": viewport or DESKTOP}
        )
        context = open_context(self.browser, self.server, self.log, **options)
        self.contexts.append(context)
        page = context.new_page()
        # Every page the journey loads is checked as soon as it has loaded, and where it ended at the end.
        page.on("load", self.accessibility.check)
        self.pages.append(page)
        return page

    def check_accessibility(self) -> None:
        """Checks each open page where the journey left it (pages changed by script since their load)."""
        for page in self.pages:
            if not page.is_closed():
                self.accessibility.check(page)


@pytest.fixture
def browsers(request, browser: Browser, live_server: LiveServer, axe_script: Path) -> Iterator[Browsers]:
    """Pages for one journey; at the end no request may have gone to another host, and no page it
    loaded may have a serious or critical accessibility violation."""
    opened = Browsers(browser, live_server, axe_script)
    yield opened
    _screenshot_on_failure(request, opened.pages)
    opened.check_accessibility()
    for context in opened.contexts:
        context.close()
    assert opened.log.foreign == [], f"requests to other hosts: {opened.log.foreign}"
    assert opened.log.hosts <= {live_server.netloc}
    assert opened.accessibility.violations == [], "accessibility violations (axe-core):\n" + "\n".join(
        dict.fromkeys(opened.accessibility.violations)
    )


@pytest.fixture
def page(browsers: Browsers) -> Page:
    return browsers.new_page()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def add_rep(fixture: TenantFixture) -> str:
    """A sales rep (role ``member``) of the workspace; returns their email."""
    email = f"rep-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, fixture.tenant.id, email, PASSWORD, "member", actor="e2e")
    db.session.commit()
    return email
