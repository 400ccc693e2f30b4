"""Sending a campaign (an RQ job): snapshot the audience once, then mail it in batches.

Never twice to one recipient, even when a worker dies mid-send: one sender per campaign at a time (a
PostgreSQL advisory lock, released by the server when the sender's connection dies); every recipient
row is claimed (``sending``) in a committed batch before its mail goes out and marked ``sent`` in its
own commit right after the server accepted it. A later run (the minute's dispatcher, or a re-run) that
gets the lock knows the earlier sender is gone and sends the rows it left claimed but unconfirmed:
their mail was never accepted, except in the instant between the server's "250" and our commit.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import joinedload

from saas.api.webhooks import emit
from saas.billing.usage import record_usage
from saas.db import TenantRef, TenantSession, db, tenant_session
from saas.mail import mail_enabled, smtp_connection
from saas.modules.core.models import Contact
from saas.modules.marketing import tracking
from saas.modules.marketing.campaigns import SEND_JOB, SEND_JOB_TIMEOUT, campaign_report, get_settings
from saas.modules.marketing.content import Sender, TrackedUrls, build_message, merge_values
from saas.modules.marketing.models import Campaign, CampaignRecipient, Segment
from saas.modules.marketing.segments import audience_query
from saas.modules.privacy.consent import contactable
from saas.modules.privacy.subject import refused_people

log = logging.getLogger(__name__)

PURPOSE = "email_marketing"
MAX_ATTEMPTS = 3
TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, ConnectionError)


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


# --- one sender per campaign -------------------------------------------------------------------------


def _lock_key(session: TenantSession, campaign_id: uuid.UUID) -> int:
    digest = hashlib.sha256(f"{session.tenant.schema_name}:{campaign_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def sender_lock(session: TenantSession, campaign_id: uuid.UUID) -> Iterator[bool]:
    """Whether this process is the campaign's only sender; held on a connection of its own."""
    with db.engine.connect() as connection:
        key = _lock_key(session, campaign_id)
        held = connection.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
        connection.commit()
        try:
            yield bool(held)
        finally:
            if held:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                connection.commit()


# --- the job -----------------------------------------------------------------------------------------


def send_campaign(session: TenantSession, campaign_id: str) -> dict[str, Any]:
    """Job body: snapshot (first run only), then send every queued recipient."""
    campaign_uuid = uuid.UUID(campaign_id)
    with sender_lock(session, campaign_uuid) as held:
        if not held:
            return {"skipped": "another sender is running"}
        campaign = session.get(Campaign, campaign_uuid)
        now = datetime.now(UTC)
        if campaign is None or campaign.status not in ("scheduled", "sending"):
            return {"skipped": f"campaign is {campaign.status if campaign else 'gone'}"}
        if not mail_enabled():  # nothing claimed: the dispatcher tries again once mail is configured
            log.warning("mail is disabled (no SMTP_URL); campaign %s waits", campaign.id)
            return {"skipped": "mail is disabled"}
        if campaign.status == "scheduled":
            if campaign.scheduled_at > now:
                return {"skipped": "not due yet"}
            snapshot_audience(session, campaign)
        result = _send_queued(session, campaign)
        _finish_if_done(session, campaign)
        return result


def snapshot_audience(session: TenantSession, campaign: Campaign) -> dict[str, int]:
    """Fix the audience: the segment now, minus people without consent or on the suppression list.

    One row per contact (and per email address: a person recorded twice gets one message).
    """
    segment = session.get(Segment, campaign.segment_id)
    candidates = session.execute(
        select(Contact.id, Contact.email)
        .where(Contact.id.in_(audience_query(segment)))
        .order_by(Contact.created_at, Contact.id)
    ).all()
    counts = {"in_segment": len(candidates), "no_email": 0, "no_consent": 0, "suppressed": 0, "duplicate": 0}
    allowed: list[tuple[uuid.UUID, str]] = []
    seen: set[str] = set()
    batch = _config("MARKETING_SNAPSHOT_BATCH", 1000)
    for start in range(0, len(candidates), batch):
        chunk = candidates[start : start + batch]
        refused = refused_people(session, [email for _, email in chunk if email])
        # The consent ledger is the only gate: may_contact's own query, for the whole batch at once.
        granted = contactable(session, [contact_id for contact_id, _ in chunk], PURPOSE)
        for contact_id, email in chunk:
            if not email:
                counts["no_email"] += 1
            elif contact_id not in granted:
                counts["no_consent"] += 1
            elif email in refused:
                counts["suppressed"] += 1
            elif email.lower() in seen:
                counts["duplicate"] += 1
            else:
                seen.add(email.lower())
                allowed.append((contact_id, email))
    for start in range(0, len(allowed), batch):
        session.execute(
            insert(CampaignRecipient)
            .values(
                [
                    {"campaign_id": campaign.id, "contact_id": c, "email": e}
                    for c, e in allowed[start : start + batch]
                ]
            )
            .on_conflict_do_nothing()
        )
    counts["queued"] = len(allowed)
    campaign.audience = counts
    campaign.status = "sending"
    campaign.started_at = datetime.now(UTC)
    session.commit()
    return counts


def _claim_batch(session: TenantSession, campaign: Campaign, size: int) -> list[CampaignRecipient]:
    """Mark the next recipients ``sending`` and commit, before any of their mail goes out.

    Rows left ``sending`` by a dead sender are taken again: holding the lock, we are the only sender.
    """
    due = (
        select(CampaignRecipient.id)
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            (CampaignRecipient.status == "sending")
            | ((CampaignRecipient.status == "queued") & (CampaignRecipient.next_attempt_at <= func.now())),
        )
        .order_by(CampaignRecipient.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    ids = session.scalars(
        update(CampaignRecipient)
        .where(CampaignRecipient.id.in_(due.scalar_subquery()))
        .values(status="sending", attempts=CampaignRecipient.attempts + 1)
        .returning(CampaignRecipient.id)
    ).all()
    session.commit()
    if not ids:
        return []
    return list(
        session.scalars(
            select(CampaignRecipient).where(CampaignRecipient.id.in_(ids)).order_by(CampaignRecipient.id)
        )
    )


def _sender(session: TenantSession) -> Sender:
    settings = get_settings(session)
    return Sender(settings.from_name, settings.from_email, settings.reply_to, settings.postal_address)


def _urls(campaign: Campaign, tenant: TenantRef, recipient_id: int) -> TrackedUrls:
    base = f"{campaign.base_url}/m/{tenant.slug}"
    return TrackedUrls(
        open_pixel=f"{base}/o/{tracking.make_token('open', tenant.id, recipient_id)}.gif",
        unsubscribe=f"{base}/u/{tracking.make_token('unsubscribe', tenant.id, recipient_id)}",
        click={
            link.url: f"{base}/c/{tracking.make_token('click', tenant.id, recipient_id, link.id)}"
            for link in campaign.links
        },
    )


def recipient_message(
    tenant: TenantRef, campaign: Campaign, recipient: CampaignRecipient, contact: Contact, sender: Sender
) -> Message:
    urls = _urls(campaign, tenant, recipient.id)
    domain = sender.email.rsplit("@", 1)[-1]
    return build_message(
        sender=sender,
        to=recipient.email,
        subject=campaign.subject,
        html_body=campaign.html_body,
        text_body=campaign.text_body,
        values=merge_values(contact),
        urls=urls,
        message_id=f"<c{campaign.id.hex}.r{recipient.id}@{domain}>",
    )


def _send_queued(session: TenantSession, campaign: Campaign) -> dict[str, Any]:
    sender = _sender(session)
    sent = failed = bounced = retried = 0
    batch_size = _config("MARKETING_BATCH_SIZE", 200)
    with _Connection() as connection:
        while batch := _claim_batch(session, campaign, batch_size):
            contacts = {
                contact.id: contact
                for contact in session.scalars(
                    select(Contact)
                    .options(joinedload(Contact.account))
                    .where(Contact.id.in_([r.contact_id for r in batch]))
                )
            }
            for recipient in batch:
                message = recipient_message(
                    session.tenant, campaign, recipient, contacts[recipient.contact_id], sender
                )
                outcome = _deliver(session, connection, campaign, recipient, message)
                sent += outcome == "sent"
                bounced += outcome == "bounced"
                failed += outcome == "failed"
                retried += outcome == "queued"
    return {"sent": sent, "bounced": bounced, "failed": failed, "retrying": retried}


class _Connection:
    """The SMTP connection of one run, reopened after the server dropped it."""

    def __init__(self) -> None:
        self._context = None
        self.smtp: smtplib.SMTP | None = None

    def get(self) -> smtplib.SMTP:
        if self.smtp is None:
            self._context = smtp_connection()
            self.smtp = self._context.__enter__()
        return self.smtp

    def drop(self) -> None:
        context, self._context, self.smtp = self._context, None, None
        if context is not None:
            with suppress(smtplib.SMTPException, OSError):
                context.__exit__(None, None, None)

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


def _deliver(
    session: TenantSession,
    connection: _Connection,
    campaign: Campaign,
    recipient: CampaignRecipient,
    message: Message,
) -> str:
    now = datetime.now(UTC)
    try:
        connection.get().send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        code = next(iter(error.recipients.values()))[0]
        outcome = _failed(recipient, code, transient=400 <= code < 500, now=now)
    except smtplib.SMTPResponseException as error:
        outcome = _failed(recipient, error.smtp_code, transient=400 <= error.smtp_code < 500, now=now)
        if error.smtp_code == 421:  # the server is closing the connection
            connection.drop()
    except TRANSIENT as error:
        connection.drop()
        outcome = _failed(recipient, type(error).__name__, transient=True, now=now)
    else:
        outcome = {"status": "sent", "sent_at": now, "last_error": None}
    # One small statement and commit per message (no unit of work): the row says "sent" as soon as the
    # server said 250, which is what makes a restarted run skip it.
    session.execute(
        update(CampaignRecipient)
        .where(CampaignRecipient.id == recipient.id)
        .values(**outcome)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if outcome["status"] == "sent":
        # After our commit: the ledger is idempotent by (tenant, meter, day, subject).
        record_usage(session.tenant.id, "emails_sent", f"campaign:{campaign.id}:{recipient.id}", 1, now)
    return outcome["status"]


def _failed(
    recipient: CampaignRecipient, code: int | str, *, transient: bool, now: datetime
) -> dict[str, Any]:
    error = f"SMTP {code}" if isinstance(code, int) else code
    if transient and recipient.attempts < MAX_ATTEMPTS:
        delay = _config("MARKETING_RETRY_SECONDS", 60) * 2 ** (recipient.attempts - 1)
        return {"status": "queued", "last_error": error, "next_attempt_at": now + timedelta(seconds=delay)}
    return {"status": "failed" if transient else "bounced", "last_error": error}


def _finish_if_done(session: TenantSession, campaign: Campaign) -> None:
    open_rows = session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status.in_(("queued", "sending"))
        )
    )
    if open_rows == 0 and campaign.status == "sending":
        campaign.status = "sent"
        campaign.finished_at = datetime.now(UTC)
        report = campaign_report(session, campaign.id)
        # Delivered with the status change or not at all (the webhook rows share this transaction).
        emit(
            session,
            "campaign.sent",
            {
                "id": campaign.id,
                "name": campaign.name,
                "audience": campaign.audience,
                "sent": report.sent,
                "failed": report.failed,
                "finished_at": campaign.finished_at,
            },
        )
        session.commit()


def send_test_message(session: TenantSession, campaign_id: str, to: str) -> bool:
    """Job body: one untracked copy to a staff address, merged with the segment's first contact."""
    campaign = session.get(Campaign, uuid.UUID(campaign_id))
    if campaign is None or get_settings(session) is None:
        return False
    sample = None
    if campaign.segment_id:
        sample = session.scalar(
            select(Contact)
            .where(Contact.id.in_(audience_query(session.get(Segment, campaign.segment_id))))
            .limit(1)
        )
    values = merge_values(sample) if sample else {"first_name": "Ada", "last_name": "Lovelace"}
    message = build_message(
        sender=_sender(session),
        to=to,
        subject=f"[Test] {campaign.subject}",
        html_body=campaign.html_body,
        text_body=campaign.text_body,
        values=values,
        urls=None,
    )
    with smtp_connection() as smtp:
        smtp.send_message(message)
    return True


# --- the minute's dispatcher -------------------------------------------------------------------------


def due_campaign_ids(session: TenantSession) -> list[str]:
    """Scheduled campaigns whose time came, and sending ones (a dead sender's, or waiting retries)."""
    return [
        str(i)
        for i in session.scalars(
            select(Campaign.id).where(
                ((Campaign.status == "scheduled") & (Campaign.scheduled_at <= func.now()))
                | (Campaign.status == "sending")
            )
        )
    ]


def dispatch_due_campaigns() -> dict[str, Any]:
    """Periodic: queue a send job for every due campaign of every tenant with marketing on.

    Lapsed (read-only) tenants send nothing; returns how many sends were queued and what happened to
    every tenant.
    """
    from saas.jobs import enqueue_for_tenant
    from saas.jobs.fanout import for_each_tenant

    def queue_due(ref: TenantRef) -> int:
        with tenant_session(ref) as session:
            due = due_campaign_ids(session)
        for campaign_id in due:
            enqueue_for_tenant(ref.id, SEND_JOB, campaign_id, job_timeout=SEND_JOB_TIMEOUT)
        return len(due)

    report = for_each_tenant("dispatch_due_campaigns", queue_due, module="marketing")
    return {"queued": sum(report.results.values()), **report.as_dict()}
