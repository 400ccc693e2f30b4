"""Sending a campaign (an RQ job): snapshot the audience once, then mail it in batches.

Never twice to one recipient, even when a worker dies mid-send: one sender per campaign at a time (a
PostgreSQL advisory lock, released by the server when the sender's connection dies); every recipient
row is claimed (``sending``) in a committed batch before its mail goes out and marked ``sent`` in its
own commit right after the server accepted it. A later run (the minute's dispatcher, or a re-run) that
gets the lock knows the earlier sender is gone and sends the rows it left claimed but unconfirmed:
their mail was never accepted, except in the instant between the server's "250" and our commit.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import (
    Boolean,
    CompoundSelect,
    String,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.orm import joinedload

from saas.api.webhooks import emit
from saas.automation.outbox import claim_outbox, sender_lock  # one sender per campaign, named by its id
from saas.billing.usage import record_usage
from saas.db import TenantRef, TenantSession, tenant_session
from saas.mail import mail_enabled, smtp_connection
from saas.modules.core.models import Contact
from saas.modules.marketing import tracking
from saas.modules.marketing.ab_tests import decide_if_due, draw_sample, message_content
from saas.modules.marketing.campaigns import SEND_JOB, SEND_JOB_TIMEOUT, campaign_report, get_settings
from saas.modules.marketing.content import (
    FooterText,
    Sender,
    TrackedUrls,
    build_message,
    footer_text,
    merge_values,
)
from saas.modules.marketing.models import Campaign, CampaignRecipient, CampaignVariant, Segment
from saas.modules.marketing.segments import audience_query
from saas.modules.privacy.consent import granted_contacts
from saas.modules.privacy.models import SuppressedEmail
from saas.modules.privacy.subject import PLAIN_EMAIL, ascii_lower_sql, refused_people, suppression_hash_sql
from saas.tenants.language import recipient_locale

log = logging.getLogger(__name__)

PURPOSE = "email_marketing"
MAX_ATTEMPTS = 3
TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, ConnectionError)


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


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
        decide_if_due(session, campaign)
        result = _send_queued(session, campaign)
        _finish_if_done(session, campaign)
        return result


def snapshot_audience(session: TenantSession, campaign: Campaign) -> dict[str, int]:
    """Fix the audience: the segment now, minus people without consent or on the suppression list.

    One row per contact (and per email address: a person recorded twice gets one message, the earliest
    recorded). Set-based: one statement classifies every member in the database (no email, no consent
    by ``may_contact``'s own gate, suppressed, duplicate), inserts the recipients and counts them.
    """
    # Its sorts (latest consent per contact, duplicates, insert order) fit in memory at 100k members:
    # at the default 4 MB each spilled to disk.
    session.execute(text(f"SET LOCAL work_mem = '{int(_config('MARKETING_SNAPSHOT_WORK_MEM_MB', 64))}MB'"))
    by_verdict = dict(session.execute(audience_statement(session, campaign)).all())
    counts = {"in_segment": sum(by_verdict.get(k, 0) for k in ("no_email", "no_consent", "suppressed", "ok"))}
    counts |= {key: by_verdict.get(key, 0) for key in ("no_email", "no_consent", "suppressed", "duplicate")}
    counts["queued"] = by_verdict.get("ok", 0) - counts["duplicate"]
    draw_sample(session, campaign)
    campaign.audience = counts
    campaign.status = "sending"
    campaign.started_at = datetime.now(UTC)
    session.commit()
    return counts


def audience_statement(session: TenantSession, campaign: Campaign) -> CompoundSelect:
    """One statement that inserts the campaign's recipients and answers (verdict, count) rows."""
    segment = session.get(Segment, campaign.segment_id)
    # The segment's own query with the columns added (not ``id IN (…)``: with a consent rule PostgreSQL
    # misjudged that as 3 rows and compared every contact with every member, 4 s for 500 of 110k).
    members = (
        audience_query(segment).add_columns(Contact.email, Contact.created_at, Contact.preferred_locale)
    ).cte("members")
    # The rare emails outside printable ASCII: Python's strip()/lower() decide their suppression hash
    # and duplicate key, exactly as before; the database does the rest (see subject.PLAIN_EMAIL).
    odd = session.execute(
        select(members.c.id, members.c.email).where(
            members.c.email != "", ~members.c.email.regexp_match(PLAIN_EMAIL)
        )
    ).all()
    refused = refused_people(session, [email for _, email in odd])
    odd_rows = (
        func.unnest(
            bindparam("odd_ids", [contact_id for contact_id, _ in odd], type_=ARRAY(UUID)),
            bindparam("odd_keys", [email.lower() for _, email in odd], type_=ARRAY(String)),
            bindparam("odd_refused", [email in refused for _, email in odd], type_=ARRAY(Boolean)),
        )
        .table_valued("id", "key", "refused")
        .render_derived()
    )
    granted = granted_contacts(PURPOSE, select(members.c.id)).cte("granted")
    plain = members.c.email.regexp_match(PLAIN_EMAIL)
    # Hashing every consented address costs ~5 µs each: skipped when the suppression list is empty.
    on_list = (
        exists().where(SuppressedEmail.email_hash == suppression_hash_sql(session, members.c.email))
        if session.scalar(select(exists().select_from(SuppressedEmail)))
        else false()
    )
    verdict = case(
        (func.coalesce(members.c.email, "") == "", "no_email"),
        (granted.c.contact_id.is_(None), "no_consent"),
        (case((plain, on_list), else_=func.coalesce(odd_rows.c.refused, False)), "suppressed"),
        else_="ok",
    )
    classified = (
        select(
            members.c.id, members.c.email, members.c.created_at, members.c.preferred_locale,
            verdict.label("verdict"),
            case((plain, ascii_lower_sql(members.c.email)), else_=odd_rows.c.key).label("key"),
        )
        .select_from(members)
        .outerjoin(granted, granted.c.contact_id == members.c.id)
        .outerjoin(odd_rows, odd_rows.c.id == members.c.id)
        .cte("classified")
    )  # fmt: skip
    # Among the allowed, the first of each address in the old loop's order (created_at, id) is kept.
    ranked = (
        select(
            classified.c.id, classified.c.email, classified.c.created_at, classified.c.preferred_locale,
            func.row_number()
            .over(partition_by=classified.c.key, order_by=(classified.c.created_at, classified.c.id))
            .label("rank"),
        )
        .where(classified.c.verdict == "ok")
        .cte("ranked")
    )  # fmt: skip
    # Each recipient's variant, fixed with the audience: their language if the campaign has it.
    locales = [variant.locale for variant in campaign.variants]
    variant = case((ranked.c.preferred_locale.in_(locales), ranked.c.preferred_locale)) if locales else null()
    inserted = (
        insert(CampaignRecipient)
        .from_select(
            ["campaign_id", "contact_id", "email", "locale"],
            select(literal(campaign.id, UUID), ranked.c.id, ranked.c.email, variant)
            .where(ranked.c.rank == 1)
            .order_by(ranked.c.created_at, ranked.c.id),
        )
        .on_conflict_do_nothing()
        .cte("inserted")
    )
    duplicates = select(func.count()).select_from(ranked).where(ranked.c.rank > 1).scalar_subquery()
    # The INSERT is a data-modifying CTE of the counting statement: PostgreSQL runs it exactly once.
    return (
        select(classified.c.verdict, func.count())
        .group_by(classified.c.verdict)
        .union_all(select(literal("duplicate"), duplicates))
        .add_cte(inserted)
    )


def _claim_batch(session: TenantSession, campaign: Campaign, size: int) -> list[CampaignRecipient]:
    """Mark the next recipients ``sending`` and commit, before any of their mail goes out (the outbox's
    claim: rows left ``sending`` by a dead sender are taken again; a queued row waits for its retry time)."""
    return claim_outbox(
        session,
        CampaignRecipient,
        size,
        CampaignRecipient.campaign_id == campaign.id,
        (CampaignRecipient.status == "sending") | (CampaignRecipient.next_attempt_at <= func.now()),
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


def variant_for(campaign: Campaign, locale: str | None) -> Campaign | CampaignVariant:
    """The content a recipient gets: the variant in their language, else the campaign's own."""
    return next((v for v in campaign.variants if v.locale == locale), campaign) if locale else campaign


def recipient_message(
    tenant: TenantRef,
    campaign: Campaign,
    recipient: CampaignRecipient,
    contact: Contact,
    sender: Sender,
    footer: FooterText = FooterText(),
) -> Message:
    urls = _urls(campaign, tenant, recipient.id)
    domain = sender.email.rsplit("@", 1)[-1]
    content = message_content(campaign, recipient.locale, recipient.ab_arm)
    return build_message(
        sender=sender,
        to=recipient.email,
        subject=content.subject,
        html_body=content.html_body,
        text_body=content.text_body,
        values=merge_values(contact),
        urls=urls,
        message_id=f"<c{campaign.id.hex}.r{recipient.id}@{domain}>",
        footer=footer,
    )


def _send_queued(session: TenantSession, campaign: Campaign) -> dict[str, Any]:
    sender = _sender(session)
    sent = failed = bounced = retried = 0
    batch_size = _config("MARKETING_BATCH_SIZE", 200)
    # The footer speaks the variant's language; the default variant is taken to be the workspace's.
    workspace_locale = recipient_locale(None, session.tenant.id)
    footers: dict[str | None, FooterText] = {}
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
                if recipient.locale not in footers:
                    footers[recipient.locale] = footer_text(recipient.locale or workspace_locale)
                message = recipient_message(
                    session.tenant,
                    campaign,
                    recipient,
                    contacts[recipient.contact_id],
                    sender,
                    footers[recipient.locale],
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
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.status.in_(("queued", "sending", "held")),
        )
    )
    # An A/B test whose sample was the whole audience still waits to record its winner.
    undecided = campaign.ab_test is not None and campaign.ab_test.decided_at is None
    if open_rows == 0 and not undecided and campaign.status == "sending":
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


def send_test_message(session: TenantSession, campaign_id: str, to: str, locale: str | None = None) -> bool:
    """Job body: one untracked copy to a staff address, merged with the segment's first contact, of the
    ``locale`` variant (None: the campaign's own content)."""
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
    content = variant_for(campaign, locale)
    message = build_message(
        sender=_sender(session),
        to=to,
        subject=f"[Test] {content.subject}",
        html_body=content.html_body,
        text_body=content.text_body,
        values=values,
        urls=None,
        footer=footer_text(recipient_locale(locale, session.tenant.id)),
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
