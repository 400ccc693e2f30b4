"""Sending: the consent gate and the suppression list decide who gets mail, each recipient gets it once
(also across a killed worker), transient failures are retried, usage is metered, schedules and
cancelling hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import psutil
import pytest
from sqlalchemy import func, select, text, update

from saas.billing.models import UsageRecord
from saas.db import db, tenant_session
from saas.errors import Conflict
from saas.jobs import enqueue_for_tenant
from saas.modules.marketing import campaigns
from saas.modules.marketing.models import Campaign, CampaignRecipient
from saas.modules.marketing.sending import SEND_JOB, dispatch_due_campaigns
from saas.modules.switches import set_module_enabled
from tests.mailsink import MailSink, start_sink
from tests.modules.marketing.conftest import (
    add_people,
    make_campaign,
    now,
    run_jobs,
    schedule_now,
    sender_settings,
)

SHOWN = {"granted": 550, "withdrawn": 300, "pending": 100, "suppressed": 50}


def _campaign(fixture, campaign_id: str) -> Campaign:
    with tenant_session(fixture.ref) as session:
        return session.get(Campaign, uuid.UUID(campaign_id))


def _statuses(fixture, campaign_id: str) -> Counter:
    with tenant_session(fixture.ref) as session:
        return Counter(
            dict(
                session.execute(
                    select(CampaignRecipient.status, func.count())
                    .where(CampaignRecipient.campaign_id == uuid.UUID(campaign_id))
                    .group_by(CampaignRecipient.status)
                ).all()
            )
        )


def test_campaign_to_1000_mails_exactly_the_550_allowed_once_each(tenant_a, mail_sink):
    people = add_people(tenant_a, SHOWN)
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id)
    run_jobs()

    received = Counter(m["To"] for m in mail_sink.messages)
    assert len(mail_sink.messages) == 550
    assert set(received) == set(people["granted"]) and set(received.values()) == {1}
    campaign = _campaign(tenant_a, campaign_id)
    assert campaign.status == "sent"
    assert campaign.audience == {
        "in_segment": 1000, "no_email": 0, "no_consent": 400, "suppressed": 50, "duplicate": 0, "queued": 550
    }  # fmt: skip
    assert _statuses(tenant_a, campaign_id) == Counter({"sent": 550})

    # Running the job again (a duplicate enqueue, the dispatcher) sends nobody a second mail.
    enqueue_for_tenant(tenant_a.tenant.id, SEND_JOB, campaign_id)
    run_jobs()
    assert len(mail_sink.messages) == 550


def test_each_mail_is_merged_and_carries_one_click_unsubscribe(tenant_a, mail_sink):
    people = add_people(tenant_a, {"granted": 1})
    sender_settings(tenant_a)
    schedule_now(tenant_a, make_campaign(tenant_a))
    run_jobs()

    [message] = mail_sink.messages
    assert message["To"] == people["granted"][0]
    assert message["Subject"] == "News for Granted0"
    assert message["From"] == "Acme News <news@acme.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith(f"http://localhost/m/{tenant_a.slug}/u/")
    text_part = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert "Hello Granted0!" in text_part and f"Unsubscribe: {unsubscribe}" in text_part
    assert "Hello Granted0!" in html_part and unsubscribe in html_part and "1 Main St" in html_part
    # Links are tracked redirects, never the raw target.
    assert "acme.example/offer" not in html_part and "acme.example/offer" not in text_part


def _subprocess_env(app, smtp_url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SMTP_URL": smtp_url,
        "SAAS_ENV": "test",
    }


WORKER = """
from saas import create_app
from saas.jobs import make_worker

with create_app().app_context():
    make_worker().work(burst=True)
"""


class KillingSink(MailSink):
    """Kills the worker and its job process (RQ runs each job in a forked "work horse" in a session of its
    own) while message ``kill_at`` is handed over; that message is never accepted, as in a crash before
    the server's reply."""

    def __init__(self, kill_at: int, *, after_accepting: bool = False) -> None:
        super().__init__()
        self.kill_at, self.after_accepting = kill_at, after_accepting
        self.worker_pid: int | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.worker_pid is not None and len(self.messages) == self.kill_at - 1:
            if self.after_accepting:  # the server has the message; the sender dies before it hears "250"
                await super().handle_DATA(server, session, envelope)
            worker = psutil.Process(self.worker_pid)
            for process in [*worker.children(recursive=True), worker]:
                process.kill()
            self.worker_pid = None
            return "451 crashed"
        return await super().handle_DATA(server, session, envelope)


def _wait_for_sender_to_go(timeout: float = 20.0) -> None:
    """PostgreSQL ends the dead worker's backend (and its advisory lock) once it sees the socket close."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if not connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            ).scalar():
                return
        time.sleep(0.1)
    raise AssertionError("the killed sender's lock was never released")


def test_worker_killed_mid_send_resumes_and_nobody_gets_a_second_mail(app, tenant_a, monkeypatch):
    people = add_people(tenant_a, SHOWN)
    sender_settings(tenant_a)
    sink = KillingSink(kill_at=275)  # in the middle of the second batch of 200
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    try:
        campaign_id = make_campaign(tenant_a)
        schedule_now(tenant_a, campaign_id)
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER], env=_subprocess_env(app, url), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        sink.worker_pid = worker.pid
        assert worker.wait(timeout=120) == -signal.SIGKILL
        assert len(sink.messages) == 274
        assert _statuses(tenant_a, campaign_id)["sent"] == 274

        _wait_for_sender_to_go()
        assert dispatch_due_campaigns()["queued"] >= 1  # the minute's dispatcher finds the unfinished send
        run_jobs()
    finally:
        controller.stop()

    received = Counter(m["To"] for m in sink.messages)
    assert len(sink.messages) == 550
    assert set(received) == set(people["granted"]) and set(received.values()) == {1}
    assert _campaign(tenant_a, campaign_id).status == "sent"


def test_a_sender_killed_after_the_server_took_a_mail_resends_only_that_one_with_its_message_id(
    app, tenant_a, monkeypatch
):
    """The floor: SMTP has no idempotency, so a sender that dies between the server taking a message and
    its own commit cannot learn whether it was taken. Its row is still ``sending``; the resumed send mails
    it again, under the same Message-ID (receiving systems and mail clients collapse such copies). Only
    that one recipient, never more than one per killed sender: each row is committed ``sent`` right after
    its own "250"."""
    people = add_people(tenant_a, {"granted": 30})
    sender_settings(tenant_a)
    sink = KillingSink(kill_at=12, after_accepting=True)
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    try:
        campaign_id = make_campaign(tenant_a)
        schedule_now(tenant_a, campaign_id)
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER], env=_subprocess_env(app, url), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        sink.worker_pid = worker.pid
        assert worker.wait(timeout=120) == -signal.SIGKILL
        assert len(sink.messages) == 12
        statuses = _statuses(tenant_a, campaign_id)
        assert statuses["sent"] == 11 and statuses["sending"] >= 1

        _wait_for_sender_to_go()
        assert dispatch_due_campaigns()["queued"] >= 1
        run_jobs()
    finally:
        controller.stop()

    received = Counter(m["To"] for m in sink.messages)
    assert set(received) == set(people["granted"])
    [(twice, copies)] = [(to, n) for to, n in received.items() if n > 1]
    assert copies == 2
    assert len({m["Message-ID"] for m in sink.messages if m["To"] == twice}) == 1
    assert _campaign(tenant_a, campaign_id).status == "sent"


class FlakySink(MailSink):
    """Answers 451 (try again later) to the first attempt for ``flaky``, 550 (no such user) to ``gone``."""

    def __init__(self, flaky: str, gone: str) -> None:
        super().__init__()
        self.flaky, self.gone, self.refused = flaky, gone, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address == self.gone:
            return "550 no such user"
        if address == self.flaky and not self.refused:
            self.refused += 1
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_transient_failures_are_retried_and_hard_bounces_are_not(app, tenant_a, monkeypatch):
    people = add_people(tenant_a, {"granted": 3})
    flaky, gone, fine = people["granted"]
    sink = FlakySink(flaky=flaky, gone=gone)
    controller, url = start_sink(sink)
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    try:
        sender_settings(tenant_a)
        campaign_id = make_campaign(tenant_a)
        schedule_now(tenant_a, campaign_id)
        run_jobs()
    finally:
        controller.stop()
    assert Counter(m["To"] for m in sink.messages) == Counter({flaky: 1, fine: 1})
    assert _statuses(tenant_a, campaign_id) == Counter({"sent": 2, "bounced": 1})
    with tenant_session(tenant_a.ref) as session:
        rows = {r.email: r for r in session.scalars(select(CampaignRecipient))}
    assert rows[flaky].attempts == 2 and rows[gone].last_error == "SMTP 550"
    report = campaigns.campaign_report
    with tenant_session(tenant_a.ref) as session:
        figures = report(session, uuid.UUID(campaign_id))
    assert (figures.sent, figures.delivered, figures.bounced) == (3, 2, 1)


def test_each_sent_email_is_recorded_once_in_the_usage_ledger(app, tenant_a, mail_sink, monkeypatch):
    add_people(tenant_a, {"granted": 7, "withdrawn": 2})
    sender_settings(tenant_a)
    monkeypatch.setitem(app.config, "STRIPE_API_KEY", "sk_test_ledger_only")  # billing on: the ledger records
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id)
    run_jobs()
    enqueue_for_tenant(tenant_a.tenant.id, SEND_JOB, campaign_id)
    run_jobs()
    rows = db.session.scalars(
        select(UsageRecord).where(
            UsageRecord.tenant_id == tenant_a.tenant.id, UsageRecord.meter_key == "emails_sent"
        )
    ).all()
    assert len(mail_sink.messages) == 7
    assert len(rows) == 7 and sum(r.quantity for r in rows) == 7
    assert all(r.subject.startswith(f"campaign:{campaign_id}:") for r in rows)


def test_schedule_is_read_in_the_tenants_time_zone_and_sends_when_due(tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 2})
    sender_settings(tenant_a, time_zone="Asia/Tokyo")
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id, datetime(2030, 1, 1, 9, 0))
    campaign = _campaign(tenant_a, campaign_id)
    assert campaign.status == "scheduled"
    assert campaign.scheduled_at.isoformat() == "2030-01-01T00:00:00+00:00"  # 09:00 in Tokyo
    dispatch_due_campaigns()
    enqueue_for_tenant(tenant_a.tenant.id, SEND_JOB, campaign_id)  # even a stray job waits for the time
    run_jobs()
    assert mail_sink.messages == []

    _make_due(tenant_a, campaign_id)
    assert dispatch_due_campaigns()["queued"] >= 1
    run_jobs()
    assert len(mail_sink.messages) == 2


def _make_due(fixture, campaign_id: str) -> None:
    with tenant_session(fixture.ref) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == uuid.UUID(campaign_id))
            .values(scheduled_at=now() - timedelta(minutes=1))
        )


def test_a_cancelled_campaign_never_sends_and_a_sent_one_cannot_be_cancelled(tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 2})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id, now().replace(tzinfo=None) + timedelta(days=1))
    with tenant_session(tenant_a.ref) as session:
        campaigns.cancel_campaign(session, uuid.UUID(campaign_id))
    _make_due(tenant_a, campaign_id)
    dispatch_due_campaigns()
    enqueue_for_tenant(tenant_a.tenant.id, SEND_JOB, campaign_id)
    run_jobs()
    assert mail_sink.messages == [] and _campaign(tenant_a, campaign_id).status == "cancelled"

    sent_id = make_campaign(tenant_a, name="Sent")
    schedule_now(tenant_a, sent_id)
    run_jobs()
    with tenant_session(tenant_a.ref) as session, pytest.raises(Conflict):
        campaigns.cancel_campaign(session, uuid.UUID(sent_id))


def test_module_off_stops_scheduled_campaigns_until_it_is_back_on(tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 3})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id, now().replace(tzinfo=None) + timedelta(hours=1))
    _make_due(tenant_a, campaign_id)
    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", False, actor="test")
    db.session.commit()
    dispatch_due_campaigns()
    enqueue_for_tenant(tenant_a.tenant.id, SEND_JOB, campaign_id)  # a job queued before the switch
    run_jobs()
    assert mail_sink.messages == [] and _campaign(tenant_a, campaign_id).status == "scheduled"

    set_module_enabled(db.session, tenant_a.tenant.id, "marketing", True, actor="test")
    db.session.commit()
    dispatch_due_campaigns()
    run_jobs()
    assert len(mail_sink.messages) == 3


def test_test_send_mails_one_untracked_copy(tenant_a, mail_sink):
    add_people(tenant_a, {"granted": 1})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        campaigns.request_test_send(session, uuid.UUID(campaign_id), "qa@acme.example")
    run_jobs()
    [message] = mail_sink.messages
    assert message["To"] == "qa@acme.example" and message["Subject"] == "[Test] News for Granted0"
    assert message["List-Unsubscribe"] is None
    assert "https://acme.example/offer?x=1&amp;y=2" in message.get_body(("html",)).get_content()
    assert _campaign(tenant_a, campaign_id).status == "draft"


def test_campaign_html_is_sanitised_and_unknown_merge_fields_are_refused(tenant_a):
    from saas.errors import ValidationError

    with tenant_session(tenant_a.ref) as session:
        campaign = campaigns.create_campaign(
            session,
            {"name": "X", "subject": "S", "text_body": "",
             "html_body": '<p onclick="steal()">Hi<script>alert(1)</script> '
                          '<a href="javascript:alert(2)">x</a><a href="https://ok.example/">ok</a></p>'},
        )  # fmt: skip
        assert "script" not in campaign.html_body and "onclick" not in campaign.html_body
        assert "javascript:" not in campaign.html_body and 'href="https://ok.example/"' in campaign.html_body
        with pytest.raises(ValidationError) as refused:
            campaigns.create_campaign(session, {"name": "Y", "subject": "Hi {{ frist_name }}"})
    assert "subject" in refused.value.errors


def test_the_dispatcher_skips_a_tenant_it_cannot_read_and_serves_the_others(
    app, tenant_a, tenant_b, mail_sink
):
    from saas.tenants.migrations import migrate_tenant

    add_people(tenant_a, {"granted": 1})
    sender_settings(tenant_a)
    campaign_id = make_campaign(tenant_a)
    schedule_now(tenant_a, campaign_id, now().replace(tzinfo=None) + timedelta(hours=1))
    _make_due(tenant_a, campaign_id)
    # Tenant B's schema is back at a revision without the marketing tables (as an old import can be).
    assert migrate_tenant(tenant_b.ref, target="t0006").status == "upgraded"
    assert dispatch_due_campaigns()["queued"] >= 1
    run_jobs()
    assert len(mail_sink.messages) == 1
