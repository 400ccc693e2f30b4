"""A newcomer's first minutes: the real ``saas dev`` on a fresh instance folder, then the privacy-center
journey with its link read from the development inbox; no set-up but the command itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from saas.embedded import free_loopback_port
from saas.observability import ROUTINE_LOGGERS
from tests.e2e.conftest import DESKTOP, ROOT, LiveServer, RequestLog, open_context

BANNER_END = "make stop"
# What the operator may have set for production: a newcomer's shell has none of it.
NOT_SET = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "TENANT_DATABASE_URL")


def _start_saas_dev(instance: Path, output: Path, port: int) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if name not in NOT_SET}
    env.update(SAAS_ENV="development", SAAS_INSTANCE_DIR=str(instance))
    return subprocess.Popen(
        [sys.executable, "-m", "saas.cli", "dev", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )


def _wait_for_banner(process: subprocess.Popen, output: Path, limit: float = 240.0) -> None:
    deadline = time.monotonic() + limit  # a safety net, not a timing assertion
    while BANNER_END not in output.read_text():
        assert process.poll() is None, f"saas dev stopped:\n{output.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"saas dev never said it was ready:\n{output.read_text()[-3000:]}"
        time.sleep(0.2)


def _routine_info_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") == "INFO" and record.get("logger", "").startswith(ROUTINE_LOGGERS):
            lines.append(line)
    return lines


def test_saas_dev_then_the_privacy_center_journey_with_the_link_from_the_development_inbox(
    browser: Browser, tmp_path
):
    instance, output, port = tmp_path / "instance", tmp_path / "saas-dev.log", free_loopback_port()
    process = _start_saas_dev(instance, output, port)
    try:
        _wait_for_banner(process, output)
        started = output.read_text()
        # The URL and the demo login are the last thing printed at start-up, the inbox named beside them.
        banner = started[started.rindex("Open CRM is running at") :]
        assert f"http://127.0.0.1:{port}/" in banner and "demo@example.com / demo-password-1" in banner
        assert f"http://127.0.0.1:{port}/dev/inbox" in banner

        server = LiveServer(f"http://127.0.0.1:{port}")
        log = RequestLog(own=server.netloc)
        context = open_context(browser, server, log, viewport=DESKTOP)
        page = context.new_page()
        page.goto("/p/demo/")
        page.get_by_label("Email").fill("ada@acme.example")
        page.get_by_role("button", name="Send me a link").click()

        # The worker that saas dev started sends the mail; the inbox shows it when it arrives.
        page.goto("/dev/inbox")
        deadline = time.monotonic() + 120
        while not page.get_by_role("cell", name="ada@acme.example").count():
            assert time.monotonic() < deadline, "the privacy-center mail never reached the development inbox"
            time.sleep(0.5)
            page.reload()
        row = page.locator("tr", has_text="ada@acme.example")
        row.locator("a[href*='/enter/']").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello Ada")
        context.close()
        assert log.foreign == []

        # Routine job logs (the mail job ran, periodic jobs were enqueued) stayed quiet.
        assert _routine_info_lines(output.read_text()) == []
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl+C: saas dev stops its worker and inbox too
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        subprocess.run(
            [sys.executable, "-m", "saas.cli", "stop-embedded", str(instance)], cwd=ROOT, capture_output=True
        )
    assert process.returncode == 0, output.read_text()[-3000:]
