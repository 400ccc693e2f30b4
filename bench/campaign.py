"""Campaigns at 100k contacts: segment evaluation and scheduling (goal < 5 s), the send job's audience
snapshot, and send throughput into a local SMTP sink against a bare smtplib loop in the same process.

* evaluate: a rule segment over all 100k contacts, counted with its preview (``count_and_preview``).
* schedule: ``schedule_campaign`` (links, status, the RQ enqueue after commit) for that segment.
* snapshot: the job's first step for a segment of ``--send`` contacts: ``may_contact`` per contact
  (the privacy module's one gate) and the suppression list, then one recipient row each.
* send: the rest of the job (claim, render, track, SMTP, one commit per message) into an aiosmtpd sink
  in this process; the baseline sends the same number of small prebuilt messages with smtplib over one
  connection to the same sink (what SMTP alone costs here).

    .venv/bin/python bench/campaign.py [--contacts 100000] [--send 5000]   (--send at most 20000)
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import time
from email.message import EmailMessage
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-campaign")
)
os.environ.setdefault("SAAS_ENV", "test")

from aiosmtpd.controller import Controller
from load import analyze, copy_contacts, free_loopback_port  # bench/ is on the path when a bench runs
from sqlalchemy import func, select, text

from saas import create_app
from saas.db import db, tenant_pools, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.marketing import campaigns, segments
from saas.modules.marketing.models import Campaign, CampaignRecipient
from saas.modules.marketing.sending import _send_queued, snapshot_audience
from saas.modules.privacy.models import ConsentNotice, ConsentPurpose
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG = "bench-campaign"
HTML = '<p>Hello {{ first_name | "there" }},</p><p><a href="https://example.com/offer">Our offer</a></p>'


class CountingSink:
    """An SMTP server that counts what it accepts (keeping 20k messages would measure memory)."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.accepted += 1
        return "250 OK"


def seeded_tenant(contacts: int, send: int) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
    if tenant is not None:
        purge_tenant(tenant.id, actor="bench")
    tenant = provision_tenant(
        SLUG, "Bench campaign", "bench-campaign@example.com", "bench-password-1", actor="bench"
    )
    started = time.perf_counter()
    copy_contacts(tenant.ref, contacts)
    schema = tenant.schema_name
    with tenant_session(tenant.ref) as session:
        purpose, notice = session.execute(
            select(ConsentPurpose.id, ConsentNotice.id)
            .join(ConsentNotice, ConsentNotice.purpose_id == ConsentPurpose.id)
            .where(ConsentPurpose.key == "email_marketing")
        ).one()
    # As the tenant's role: the platform user cannot reach a tenant schema.
    with tenant_pools().engine_for(tenant.ref).begin() as connection:
        # Every contact was asked: the first ``send`` granted, the rest withdrew.
        connection.execute(
            text(
                f'INSERT INTO "{schema}".consent_events '
                "(contact_id, purpose_id, notice_id, status, lawful_basis, source, actor) "
                "SELECT id, :purpose, :notice, "
                "CASE WHEN row_number() OVER (ORDER BY id) <= :send THEN 'granted' ELSE 'withdrawn' END, "
                f"'consent', 'staff', 'bench' FROM \"{schema}\".contacts"
            ),
            {"purpose": purpose, "notice": notice, "send": send},
        )
    analyze(tenant.ref, "contacts", "consent_events")
    print(
        f"seeded {contacts:,} contacts ({send:,} granted) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return tenant


def timed(label: str, function):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:8.3f} s")
    return result, elapsed


def bench_evaluation(tenant: Tenant, contacts: int) -> None:
    with tenant_session(tenant.ref) as session:
        campaigns.save_settings(session, {"from_name": "Bench", "from_email": "bench@example.com"})
        everyone = segments.create_segment(
            session, {"name": "Engineers", "rules": [{"field": "title", "op": "equals", "value": "Engineer"}]}
        )
        campaign = campaigns.create_campaign(
            session, {"name": "Everyone", "subject": "Hi", "html_body": HTML, "segment_id": everyone.id}
        )
    with tenant_session(tenant.ref) as session:
        (count, _), _ = timed(
            f"evaluate a rule segment of {contacts:,} (count + preview)",
            lambda: segments.count_and_preview(session, segments.get_segment(session, everyone.id)),
        )
        assert count == contacts, count

    def schedule() -> None:
        with tenant_session(tenant.ref) as session:
            campaigns.schedule_campaign(session, campaign.id, None, "http://bench.example/")

    timed("schedule it (links, status, RQ enqueue after commit)", schedule)
    with tenant_session(tenant.ref) as session:  # not sent: cancelling needs a draft, so mark it done
        session.get(Campaign, campaign.id).status = "cancelled"


def bench_send(tenant: Tenant, send: int, sink: CountingSink, port: int) -> float:
    with tenant_session(tenant.ref) as session:
        granted = segments.create_segment(
            session,
            {
                "name": "Granted",
                "rules": [{"field": "consent_email_marketing", "op": "equals", "value": "granted"}],
            },
        )
        campaign = campaigns.create_campaign(
            session,
            {
                "name": "Send",
                "subject": "Hi {{ first_name }}",
                "html_body": HTML,
                "segment_id": granted.id,
            },
        )
        campaigns.schedule_campaign(session, campaign.id, None, "http://bench.example/")
        session.info.pop("marketing_jobs", None)  # run here, not by a worker
    with tenant_session(tenant.ref) as session:
        campaign = session.get(Campaign, campaign.id)
        counts, _ = timed(
            f"snapshot {send:,} candidates (consent gate per batch)",
            lambda: snapshot_audience(session, campaign),
        )
        assert counts["queued"] == send, counts
        result, elapsed = timed(f"send {send:,} through the job", lambda: _send_queued(session, campaign))
        sent = session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == "sent")
        )
    assert result["sent"] == send == sent == sink.accepted, (result, sent, sink.accepted)
    job_rate = send / elapsed

    sink.accepted = 0
    message = EmailMessage()
    message["From"], message["Subject"] = "bench@example.com", "Hi"
    message.set_content("Hello, a bare message.")

    def bare_loop() -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for i in range(send):
                del message["To"]
                message["To"] = f"r{i}@example.com"
                smtp.send_message(message)

    _, baseline = timed(f"baseline: bare smtplib loop, {send:,} messages", bare_loop)
    assert sink.accepted == send
    print(f"\nsend throughput: job {job_rate:,.0f} msg/s, bare smtplib {send / baseline:,.0f} msg/s "
          f"(job at {job_rate / (send / baseline):.0%} of bare SMTP)")  # fmt: skip
    return job_rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=5_000)
    args = parser.parse_args()
    if not 0 < args.send <= min(20_000, args.contacts):
        parser.error("--send must be between 1 and 20,000 and at most --contacts")
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        tenant = seeded_tenant(args.contacts, args.send)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
        # Campaigns are scheduled only where mail can go out: a sink on loopback for both parts.
        sink, port = CountingSink(), free_loopback_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}?tls=none"
        try:
            bench_evaluation(tenant, args.contacts)
            bench_send(tenant, args.send, sink, port)
        finally:
            controller.stop()
        purge_tenant(tenant.id, actor="bench")


if __name__ == "__main__":
    main()
