"""Signed tracking links (open pixel, click redirect, unsubscribe) and what they record.

A token names its tenant and recipient (and link) inside an itsdangerous signature, one salt per kind,
so a click token cannot unsubscribe anyone and no token opens another tenant's records. Anything
tampered, foreign or unknown is :class:`TrackingRefused` (a plain 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import NotFound
from saas.i18n import N_, Phrase
from saas.modules.core.activities import record_event
from saas.modules.marketing.models import Campaign, CampaignEvent, CampaignLink, CampaignRecipient
from saas.modules.privacy import consent
from saas.modules.registry import registry
from saas.webhooks.events import emit

KINDS = ("open", "click", "unsubscribe")


class TrackingRefused(NotFound):
    title = "Not found"


def _serializer(kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"marketing-{kind}")


def make_token(kind: str, tenant_id: str, recipient_id: int, link_id: int = 0) -> str:
    return _serializer(kind).dumps([tenant_id, recipient_id, link_id])


@dataclass(frozen=True)
class TrackingToken:
    recipient_id: int
    link_id: int


def read_token(kind: str, token: str, tenant_id: str) -> TrackingToken:
    try:
        token_tenant, recipient_id, link_id = _serializer(kind).loads(token)
        parsed = TrackingToken(int(recipient_id), int(link_id))
    except (BadData, TypeError, ValueError):
        raise TrackingRefused("No such link.") from None
    if token_tenant != tenant_id:
        raise TrackingRefused("No such link.")
    return parsed


def _recipient(session: Session, recipient_id: int) -> tuple[CampaignRecipient, Campaign]:
    row = session.execute(
        select(CampaignRecipient, Campaign)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(CampaignRecipient.id == recipient_id)
    ).first()
    if row is None:
        raise TrackingRefused("No such link.")
    return row[0], row[1]


def _event(session: Session, recipient: CampaignRecipient, kind: str, link_id: int | None = None) -> None:
    session.add(
        CampaignEvent(
            campaign_id=recipient.campaign_id, recipient_id=recipient.id, kind=kind, link_id=link_id
        )
    )


def record_open(session: TenantSession, token: str) -> None:
    """The pixel loaded: the first open is an event and a timeline entry; later ones change nothing."""
    recipient, campaign = _recipient(session, read_token("open", token, session.tenant.id).recipient_id)
    if recipient.opened_at is None:
        _mark_opened(session, recipient, campaign)


def _mark_opened(session: TenantSession, recipient: CampaignRecipient, campaign: Campaign) -> None:
    recipient.opened_at = datetime.now(UTC)
    _event(session, recipient, "open")
    emit(session, "campaign.opened", {"campaign_id": campaign.id, "contact_id": recipient.contact_id})
    record_event(
        session,
        Phrase(N_("Opened email: %(subject)s"), {"subject": campaign.subject}),
        contact_id=recipient.contact_id,
        body=Phrase(N_("Campaign %(campaign)s"), {"campaign": campaign.name}),
    )


def record_click(session: TenantSession, token: str) -> str:
    """A link was followed: returns where to (always one of the campaign's own links)."""
    parsed = read_token("click", token, session.tenant.id)
    recipient, campaign = _recipient(session, parsed.recipient_id)
    link = session.get(CampaignLink, parsed.link_id)
    if link is None or link.campaign_id != campaign.id:
        raise TrackingRefused("No such link.")
    if recipient.opened_at is None:  # images were blocked, but a click proves the mail was opened
        _mark_opened(session, recipient, campaign)
    recipient.clicked_at = recipient.clicked_at or datetime.now(UTC)
    _event(session, recipient, "click", link.id)
    emit(session, "campaign.clicked", {"campaign_id": campaign.id, "contact_id": recipient.contact_id})
    record_event(
        session,
        Phrase(N_("Clicked a link in: %(subject)s"), {"subject": campaign.subject}),
        contact_id=recipient.contact_id,
        body=link.url[:500],
    )
    # A link into the workspace's own site may carry a mark that joins the visit to the contact.
    return registry.followed_link(session, link.url, recipient.contact_id)


def check_unsubscribe(session: TenantSession, token: str) -> Campaign:
    """The campaign of a genuine unsubscribe link (the confirmation page shows its sender)."""
    return _recipient(session, read_token("unsubscribe", token, session.tenant.id).recipient_id)[1]


def unsubscribe(session: TenantSession, token: str, *, ip: str | None, user_agent: str | None) -> bool:
    """Withdraw the recipient's email-marketing consent (a ledger event); returns False if it was
    withdrawn by this link already (a second press changes nothing)."""
    recipient, campaign = _recipient(
        session, read_token("unsubscribe", token, session.tenant.id).recipient_id
    )
    if recipient.unsubscribed_at is not None:
        return False
    context = consent.ConsentContext(source="unsubscribe", actor="data_subject", ip=ip, user_agent=user_agent)
    consent.record_consent(session, recipient.contact_id, "email_marketing", "withdrawn", context)
    recipient.unsubscribed_at = datetime.now(UTC)
    _event(session, recipient, "unsubscribe")
    record_event(
        session,
        Phrase(N_("Unsubscribed from email marketing")),
        contact_id=recipient.contact_id,
        body=Phrase(N_("By the link in: %(subject)s"), {"subject": campaign.subject}),
    )
    return True
