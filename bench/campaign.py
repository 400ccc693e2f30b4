"""Campaigns at 100k consented contacts: the recipient list itself (goal < 3 s), segment evaluation and
scheduling, and send throughput into a local SMTP sink against a bare smtplib loop in the same process.

* audience: the send job's recipient list for a segment of every contact (``--consented`` granted
  email marketing, ``--withdrawn`` more withdrew): ``snapshot_audience`` itself, i.e. the consent gate
  of ``may_contact``, the suppression list and duplicate addresses in the database, and one recipient
  row each. Baseline: the consent filter alone as one bare SQL count over the same rows.
* evaluate: a rule segment over all contacts, counted with its preview (``count_and_preview``).
* schedule: ``schedule_campaign`` (links, status, the RQ enqueue after commit) for that segment.
* send: the job's snapshot and sending (claim, render, track, SMTP, one commit per message) for a
  segment of ``--send`` contacts, into an aiosmtpd sink in this process; the baseline sends the same
  number of small prebuilt messages with smtplib over one connection to the same sink.

    .venv/bin/python bench/campaign.py [--consented 100000] [--withdrawn 10000] [--send 5000]
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
from figures import summary  # bench/ is on the path when a bench runs
from load import analyze, copy_contacts, free_loopback_port
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


def seeded_tenant(contacts: int, withdrawn: int, send: int) -> Tenant:
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
        # Every contact was asked: all granted; the last ``withdrawn`` withdrew afterwards.
        connection.execute(
            text(
                f'INSERT INTO "{schema}".consent_events '
                "(contact_id, purpose_id, notice_id, status, lawful_basis, source, actor) "
                "SELECT id, :purpose, :notice, 'granted', 'consent', 'staff', 'bench' "
                f'FROM "{schema}".contacts ORDER BY id'
            ),
            {"purpose": purpose, "notice": notice},
        )
        connection.execute(
            text(
                f'INSERT INTO "{schema}".consent_events '
                "(contact_id, purpose_id, notice_id, status, lawful_basis, source, actor) "
                "SELECT id, :purpose, :notice, 'withdrawn', 'consent', 'staff', 'bench' "
                f'FROM "{schema}".contacts ORDER BY id DESC LIMIT :withdrawn'
            ),
            {"purpose": purpose, "notice": notice, "withdrawn": withdrawn},
        )
        # The first ``send`` (all granted) make the send part's segment.
        connection.execute(
            text(
                f"UPDATE \"{schema}\".contacts SET title = 'Sender' WHERE id IN "
                f'(SELECT id FROM "{schema}".contacts ORDER BY id LIMIT :send)'
            ),
            {"send": send},
        )
    analyze(tenant.ref, "contacts", "consent_events")
    print(
        f"seeded {contacts:,} contacts ({contacts - withdrawn:,} granted) "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return tenant


def timed(label: str, function):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:8.3f} s")
    return result, elapsed


def bench_audience(tenant: Tenant, contacts: int, consented: int) -> None:
    """The recipient list of a campaign to every contact, consent-filtered: what the send job builds."""
    with tenant_session(tenant.ref) as session:
        everyone = segments.create_segment(
            session, {"name": "Everyone", "rules": [{"field": "email", "op": "is_set"}]}
        )
        campaign = campaigns.create_campaign(
            session, {"name": "Audience", "subject": "Hi", "html_body": HTML, "segment_id": everyone.id}
        )
    with tenant_session(tenant.ref) as session:
        campaign = session.get(Campaign, campaign.id)
        counts, elapsed = timed(
            f"recipient list of {contacts:,} contacts ({consented:,} consented)",
            lambda: snapshot_audience(session, campaign),
        )
        assert counts["in_segment"] == contacts and counts["queued"] == consented, counts
        campaign.status = "cancelled"
    with tenant_pools().engine_for(tenant.ref).connect() as connection:
        bare, baseline = timed(
            "baseline: the consent filter alone, one bare SQL count",
            lambda: connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT DISTINCT ON (e.contact_id) e.contact_id, e.status "
                    "FROM consent_events e JOIN consent_purposes p ON p.id = e.purpose_id "
                    "WHERE p.key = 'email_marketing' ORDER BY e.contact_id, e.id DESC) latest "
                    "JOIN contacts c ON c.id = latest.contact_id WHERE latest.status = 'granted'"
                )
            ).scalar_one(),
        )
    assert bare == consented, bare
    summary(f"campaign recipient list, {consented:,} consented (s)", "< 3 s", elapsed, baseline,
            elapsed / baseline)  # fmt: skip


def bench_evaluation(tenant: Tenant, contacts: int) -> None:
    with tenant_session(tenant.ref) as session:
        campaigns.save_settings(session, {"from_name": "Bench", "from_email": "bench@example.com"})
        everyone = segments.create_segment(
            session, {"name": "With email", "rules": [{"field": "email", "op": "is_set"}]}
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
                "rules": [
                    {"field": "consent_email_marketing", "op": "equals", "value": "granted"},
                    {"field": "title", "op": "equals", "value": "Sender"},
                ],
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
            f"snapshot {send:,} candidates (set-based)",
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
    parser.add_argument("--consented", type=int, default=100_000, help="contacts who granted")
    parser.add_argument("--withdrawn", type=int, default=10_000, help="more contacts who withdrew")
    parser.add_argument("--send", type=int, default=5_000, help="of the consented, how many to mail")
    args = parser.parse_args()
    # Sending is one SMTP transaction and commit per message: its part stays at a size that fits.
    if not 0 < args.send <= min(20_000, args.consented):
        parser.error("--send must be between 1 and 20,000 and at most --consented")
    contacts = args.consented + args.withdrawn
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        tenant = seeded_tenant(contacts, args.withdrawn, args.send)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
        # Campaigns are scheduled only where mail can go out: a sink on loopback for both parts.
        sink, port = CountingSink(), free_loopback_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}?tls=none"
        try:
            bench_audience(tenant, contacts, args.consented)
            bench_evaluation(tenant, contacts)
            bench_send(tenant, args.send, sink, port)
        finally:
            controller.stop()
        purge_tenant(tenant.id, actor="bench")


if __name__ == "__main__":
    main()
