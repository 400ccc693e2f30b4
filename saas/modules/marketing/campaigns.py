"""Campaigns: sender settings, drafts, scheduling in the tenant's time zone, test sends, cancelling,
and the report. Sending itself is :mod:`saas.modules.marketing.sending` (a job)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import LANGUAGES, N_
from saas.jobs import enqueue_after_commit
from saas.mail import mail_enabled
from saas.modules.marketing.ab_tests import ABTestReport, ab_test_report, apply_ab_test, clean_ab_test
from saas.modules.marketing.attribution import campaign_revenue
from saas.modules.marketing.content import check_merge_fields, extract_links, sanitise_html
from saas.modules.marketing.models import (
    Campaign,
    CampaignEvent,
    CampaignLink,
    CampaignRecipient,
    CampaignVariant,
    MarketingSettings,
    Segment,
)

SEND_JOB = "saas.modules.marketing.sending.send_campaign"
SEND_JOB_TIMEOUT = 6 * 3600
"""RQ's default of 180 s would cut a large send short (the next minute's dispatcher resumes it anyway)."""
TEST_JOB = "saas.modules.marketing.sending.send_test_message"
EDITABLE = ("draft", "scheduled")


# --- sender identity and time zone -------------------------------------------------------------------


def get_settings(session: Session) -> MarketingSettings | None:
    return session.get(MarketingSettings, 1)


def _email(value: Any, name: str, *, required: bool) -> str | None:
    if not value and not required:
        return None
    try:
        return validate_email(str(value or ""), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError(
            N_("Enter a valid email address."), {name: ["Enter a valid email address."]}
        ) from None


def check_time_zone(name: str) -> ZoneInfo:
    try:
        if name not in available_timezones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            N_("Unknown time zone."), {"time_zone": [N_("Use an IANA name such as Europe/Berlin.")]}
        ) from None


def save_settings(session: Session, data: dict[str, Any]) -> MarketingSettings:
    """Set the sender identity and time zone; every bad field is named at once."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    checks = (
        ("from_name", lambda: _sender_name(data.get("from_name"))),
        ("from_email", lambda: _email(data.get("from_email"), "from_email", required=True)),
        ("reply_to", lambda: _email(data.get("reply_to"), "reply_to", required=False)),
        ("time_zone", lambda: check_time_zone((data.get("time_zone") or "UTC").strip()).key),
    )
    for name, check in checks:
        try:
            clean[name] = check()
        except ValidationError as error:
            errors |= error.errors
    if errors:
        raise ValidationError(N_("Please correct the sender settings."), errors)
    settings = get_settings(session) or MarketingSettings(id=1)
    for name, value in clean.items():
        setattr(settings, name, value)
    settings.postal_address = (data.get("postal_address") or "").strip()[:300] or None
    session.add(settings)
    session.flush()
    return settings


def _sender_name(value: Any) -> str:
    name = (value or "").strip()
    if not name or len(name) > 100:
        raise ValidationError(
            N_("Give the sender's name."), {"from_name": [N_("Give a name (at most 100 characters).")]}
        )
    return name


def tenant_zone(session: Session) -> ZoneInfo:
    settings = get_settings(session)
    return ZoneInfo(settings.time_zone) if settings else ZoneInfo("UTC")


def local_to_utc(session: Session, value: datetime) -> datetime:
    """A wall-clock time in the tenant's zone (or any aware time) as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tenant_zone(session))
    return value.astimezone(UTC)


# --- drafts ------------------------------------------------------------------------------------------


def get_campaign(session: Session, campaign_id: uuid.UUID) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("No campaign with id %(id)s.", id=campaign_id))
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id)))


# What a missing or too long campaign text is refused with: (detail, field message), whole sentences.
TEXT_REFUSALS = {
    "name": (N_("Give the campaign's name."), N_("Give the campaign's name (at most %(limit)s characters).")),
    "subject": (N_("Give the subject."), N_("Give the subject (at most %(limit)s characters).")),
}


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = (data.get(name) or "").strip()
    if not value or len(value) > limit:
        detail, message = TEXT_REFUSALS[name]
        raise ValidationError(detail, {name: [N_(message, limit=limit)]})
    return value


def _clean(session: Session, data: dict[str, Any], partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, limit in (("name", 200), ("subject", 200)):
        if name in data or not partial:
            clean[name] = _text(data, name, limit)
    if "html_body" in data or not partial:
        clean["html_body"] = sanitise_html(data.get("html_body") or "")
    if "text_body" in data or not partial:
        clean["text_body"] = (data.get("text_body") or "").replace("\r\n", "\n")
    if "segment_id" in data or not partial:
        segment_id = data.get("segment_id")
        if segment_id and session.get(Segment, segment_id) is None:
            raise ValidationError(N_("Unknown segment."), {"segment_id": [N_("No segment with this id.")]})
        clean["segment_id"] = segment_id or None
    check_merge_fields(**{k: v for k, v in clean.items() if k in ("subject", "html_body", "text_body")})
    if "variants" in data:
        clean["variants"] = clean_variants(data.get("variants") or [])
    if "ab_test" in data:
        clean["ab_test"] = clean_ab_test(data["ab_test"])
    return clean


def clean_variants(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The language variants as they will be stored: a supported locale each, at most one per locale,
    a subject, sanitised HTML and merge fields the contacts have. Every bad variant is named at once
    (``variants.<n>``, counted from 0) so a page can put the message next to it; the messages are in
    the page's language (the API's is always English)."""
    shipped = {code.lower(): code for code in LANGUAGES}
    errors: dict[str, list[str]] = {}
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, variant in enumerate(variants):
        key, problems = f"variants.{index}", []
        written = str(variant.get("locale") or "").strip()
        # Exactly a shipped language (zh-Hans counts): a contact's preferred_locale is one of them.
        locale = shipped.get(written.replace("-", "_").lower())
        if locale is None:
            problems.append(gettext("Choose one of the languages: %(codes)s.", codes=", ".join(LANGUAGES)))
        elif locale in seen:
            problems.append(gettext("This language has a variant already."))
        subject = (variant.get("subject") or "").strip()
        if not subject or len(subject) > 200:
            problems.append(gettext("Give the subject (at most 200 characters)."))
        html_body = sanitise_html(variant.get("html_body") or "")
        text_body = (variant.get("text_body") or "").replace("\r\n", "\n")
        try:
            check_merge_fields(subject=subject, html_body=html_body, text_body=text_body)
        except ValidationError as error:
            problems += [m for messages in error.errors.values() for m in messages] or [error.detail]
        if problems:
            errors[key] = problems
            continue
        seen.add(locale)
        clean.append({"locale": locale, "subject": subject, "html_body": html_body, "text_body": text_body})
    if errors:
        raise ValidationError(gettext("Please correct the language variants."), errors)
    return clean


def _apply(campaign: Campaign, clean: dict[str, Any]) -> None:
    """Set the cleaned fields; variants replace the campaign's set, keeping rows of unchanged locales."""
    variants = clean.pop("variants", None)
    if "ab_test" in clean:
        apply_ab_test(campaign, clean.pop("ab_test"))
    for name, value in clean.items():
        setattr(campaign, name, value)
    if variants is not None:
        existing = {variant.locale: variant for variant in campaign.variants}
        campaign.variants = [
            _updated(existing.get(v["locale"]) or CampaignVariant(locale=v["locale"]), v) for v in variants
        ]


def _updated(variant: CampaignVariant, values: dict[str, Any]) -> CampaignVariant:
    for name, value in values.items():
        setattr(variant, name, value)
    return variant


def create_campaign(session: Session, data: dict[str, Any]) -> Campaign:
    clean = _clean(session, data, partial=False)
    campaign = Campaign(variants=[], ab_test=None)
    _apply(campaign, clean)
    session.add(campaign)
    session.flush()
    return campaign


def _editable(session: Session, campaign_id: uuid.UUID) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    if campaign is None:
        raise NotFound(N_("No campaign with id %(id)s.", id=campaign_id))
    if campaign.status not in EDITABLE:
        raise Conflict(
            N_(
                "This campaign is %(status)s; only a draft or scheduled campaign can change.",
                status=campaign.status,
            )
        )
    return campaign


def update_campaign(session: Session, campaign_id: uuid.UUID, data: dict[str, Any]) -> Campaign:
    campaign = _editable(session, campaign_id)
    _apply(campaign, _clean(session, data, partial=True))
    session.flush()
    return campaign


def delete_campaign(session: Session, campaign_id: uuid.UUID) -> None:
    campaign = get_campaign(session, campaign_id)
    if campaign.status in ("sending", "sent"):
        raise Conflict(N_("A campaign that was sent stays, with its report."))
    session.delete(campaign)
    session.flush()


# --- scheduling --------------------------------------------------------------------------------------


def schedule_campaign(
    session: TenantSession, campaign_id: uuid.UUID, send_at: datetime | None, base_url: str
) -> Campaign:
    """Send now (``send_at`` None or past) or at a time (naive: the tenant's wall clock)."""
    campaign = _editable(session, campaign_id)
    problems = {}
    if campaign.segment_id is None:
        problems["segment_id"] = ["Choose the segment to send to."]
    if not (campaign.html_body.strip() or campaign.text_body.strip()):
        problems["html_body"] = ["Write the message."]
    if get_settings(session) is None:
        problems["from_email"] = ["Set the sender's name and address under Marketing > Settings first."]
    if not mail_enabled():
        problems["mail"] = ["Outgoing mail is not configured for this installation (SMTP_URL)."]
    if campaign.ab_test and campaign.ab_test.metric == "clicks" and not _links_of(campaign):
        problems["ab_test.metric"] = ["A test by clicks needs a link in the message."]
    if problems:
        raise ValidationError(N_("This campaign cannot be sent yet."), problems)
    now = datetime.now(UTC)
    when = local_to_utc(session, send_at) if send_at else now
    campaign.status = "scheduled"
    campaign.scheduled_at = max(when, now)
    campaign.base_url = base_url.rstrip("/")
    _store_links(session, campaign)
    session.flush()
    if campaign.scheduled_at <= now + timedelta(seconds=1):
        enqueue_after_commit(session, SEND_JOB, str(campaign.id), job_timeout=SEND_JOB_TIMEOUT)
    return campaign


def _links_of(campaign: Campaign) -> list[str]:
    """Every link of the campaign's bodies: its own, its language variants' and its A/B test arms'."""
    bodies = [(v.html_body, v.text_body) for v in campaign.variants]
    arms = campaign.ab_test.arms if campaign.ab_test else []
    bodies += [(arm["html_body"], arm["text_body"]) for arm in arms]
    html = "\n".join([campaign.html_body, *(h for h, _ in bodies)])
    text_bodies = "\n".join([campaign.text_body, *(t for _, t in bodies)])
    return extract_links(html, text_bodies)


def _store_links(session: Session, campaign: Campaign) -> None:
    """The link table click redirects may go to; links already used keep their ids."""
    known = {link.url: link for link in campaign.links}
    for position, url in enumerate(_links_of(campaign)):
        if url in known:
            known[url].position = position
        else:
            campaign.links.append(CampaignLink(url=url, position=position))


def cancel_campaign(session: Session, campaign_id: uuid.UUID) -> Campaign:
    campaign = _editable(session, campaign_id)
    campaign.status = "cancelled"
    session.flush()
    return campaign


def request_test_send(
    session: TenantSession, campaign_id: uuid.UUID, to: Any, locale: str | None = None
) -> str:
    """Mail the campaign to one address (staff checking it), merged with a sample contact's values;
    ``locale`` names the language variant to check (None: the campaign's own content)."""
    campaign = get_campaign(session, campaign_id)
    address = _email(to, "to", required=True)
    if locale and locale not in {variant.locale for variant in campaign.variants}:
        raise ValidationError(
            gettext("This campaign has no variant in that language."),
            {"locale": [gettext("Choose one of the campaign's languages.")]},
        )
    if get_settings(session) is None:
        raise ValidationError(
            N_("No sender yet."), {"to": [N_("Set the sender under Marketing > Settings first.")]}
        )
    if not mail_enabled():
        raise ValidationError(N_("Mail is off."), {"to": [N_("Outgoing mail is not configured (SMTP_URL).")]})
    enqueue_after_commit(session, TEST_JOB, str(campaign.id), address, locale or None)
    return address


# --- report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignReport:
    recipients: int
    queued: int
    sent: int
    delivered: int
    bounced: int
    failed: int
    opened: int
    clicked: int
    unsubscribed: int
    timeline: list[dict[str, Any]]
    """Per hour since sending began: sent, opened, clicked, unsubscribed (the chart)."""
    sent_by_language: dict[str, int]
    """Messages sent per variant: its locale, ``default`` for the campaign's own content."""
    ab_test: ABTestReport | None = None
    """Each arm's rate and confidence, and the winner (campaigns with an A/B test)."""
    revenue: dict[str, Any] | None = None
    """Won-deal revenue credited to the campaign, first and last touch (asked for: it reads deals)."""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"ab_test": self.ab_test.as_dict() if self.ab_test else None}


def campaign_report(session: Session, campaign_id: uuid.UUID, *, revenue: bool = False) -> CampaignReport:
    campaign = get_campaign(session, campaign_id)
    counts = dict(
        session.execute(
            select(CampaignRecipient.status, func.count())
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(CampaignRecipient.status)
        ).all()
    )
    opened, clicked, unsubscribed = session.execute(
        select(
            func.count(CampaignRecipient.opened_at),
            func.count(CampaignRecipient.clicked_at),
            func.count(CampaignRecipient.unsubscribed_at),
        ).where(CampaignRecipient.campaign_id == campaign.id)
    ).one()
    sent = counts.get("sent", 0) + counts.get("bounced", 0)
    return CampaignReport(
        recipients=sum(counts.values()),
        queued=counts.get("queued", 0) + counts.get("sending", 0),
        sent=sent,
        # Accepted by the mail server and not bounced back since.
        delivered=counts.get("sent", 0),
        bounced=counts.get("bounced", 0),
        failed=counts.get("failed", 0),
        opened=opened,
        clicked=clicked,
        unsubscribed=unsubscribed,
        timeline=_timeline(session, campaign.id),
        sent_by_language=_sent_by_language(session, campaign.id),
        ab_test=ab_test_report(session, campaign),
        revenue=campaign_revenue(session, campaign.id) if revenue else None,
    )


def _sent_by_language(session: Session, campaign_id: uuid.UUID) -> dict[str, int]:
    return {
        locale or "default": count
        for locale, count in session.execute(
            select(CampaignRecipient.locale, func.count())
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status.in_(("sent", "bounced")),
            )
            .group_by(CampaignRecipient.locale)
            .order_by(CampaignRecipient.locale.nulls_first())
        )
    }


def _timeline(session: Session, campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    hour = func.date_trunc("hour", CampaignRecipient.sent_at)
    rows: dict[datetime, dict[str, Any]] = {}
    for at, count in session.execute(
        select(hour, func.count())
        .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.sent_at.is_not(None))
        .group_by(hour)
    ):
        rows.setdefault(at, {"hour": at})["sent"] = count
    event_hour = func.date_trunc("hour", CampaignEvent.occurred_at)
    for at, kind, count in session.execute(
        select(event_hour, CampaignEvent.kind, func.count(func.distinct(CampaignEvent.recipient_id)))
        .where(CampaignEvent.campaign_id == campaign_id)
        .group_by(event_hour, CampaignEvent.kind)
    ):
        rows.setdefault(at, {"hour": at})[f"{kind}ed" if kind != "unsubscribe" else "unsubscribed"] = count
    keys = ("sent", "opened", "clicked", "unsubscribed")
    return [{"hour": at} | {k: row.get(k, 0) for k in keys} for at, row in sorted(rows.items())]
