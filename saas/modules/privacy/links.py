"""Signed, single-use, 15-minute sign-in links to the customer hub (and the double opt-in links).

The link names its tenant and contact inside the signature, so it opens only that tenant's hub;
its random id is recorded on use, so it opens it once.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask import session as browser_session
from flask_babel import gettext
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from saas.db import TenantSession, db
from saas.errors import SaasError
from saas.i18n import in_locale
from saas.jobs import enqueue_for_tenant
from saas.mail import send_mail
from saas.modules.core.models import Contact
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.branding import branding
from saas.modules.privacy.models import ConsentEvent, PrivacyLinkUse
from saas.tenants.language import recipient_locale
from saas.tenants.models import Tenant

LINK_SECONDS = 15 * 60
CONFIRMATION_SECONDS = 7 * 24 * 3600
# The hub's links are signed as the privacy center's were, so that links mailed before the hub open it.
_SALT = "privacy-center-link"
CONFIRMATION_SALT = "consent-confirmation"


class LinkRefused(SaasError):
    """Expired, used, tampered or meant for another tenant: one answer for all, so none is revealed."""

    status = 400
    title = "Link not valid"


REFUSED = "This link is not valid any more: it was used already or it expired. Ask for a new one below."


@dataclass(frozen=True)
class CenterLink:
    tenant_id: str
    contact_id: uuid.UUID
    link_id: str


def link_serializer(
    signer: type[TimestampSigner] = TimestampSigner, salt: str = _SALT
) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=signer)


def make_link_token(tenant_id: str, contact_id: uuid.UUID, salt: str = _SALT) -> str:
    return link_serializer(salt=salt).dumps(
        {"t": tenant_id, "c": str(contact_id), "l": secrets.token_urlsafe(16)}
    )


def carry_link_over(token: str, tenant_id: str, from_salt: str) -> str:
    """A genuine link of an older door (``from_salt``: the service portal's), signed again as a hub link
    with the same id and signing time: it still opens once, and expires when it would have."""
    link, signed_at = _read_link(token, tenant_id, from_salt)

    class AtFirstSigning(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(signed_at.timestamp())

    data = {"t": link.tenant_id, "c": str(link.contact_id), "l": link.link_id}
    return link_serializer(signer=AtFirstSigning).dumps(data)


@dataclass(frozen=True)
class LinkSession:
    """A browser's proof, by a consumed sign-in link, of being one contact of one tenant, kept in the
    signed cookie session for ``lifetime`` (the customer hub holds one)."""

    key: str
    lifetime: timedelta

    def start(self, link: CenterLink) -> None:
        browser_session[self.key] = {
            "t": link.tenant_id,
            "c": str(link.contact_id),
            "at": datetime.now(UTC).isoformat(),
        }

    def contact(self, tenant_id: str) -> uuid.UUID | None:
        """The contact this browser proved to be, for ``tenant_id`` only, while the session lasts."""
        state = browser_session.get(self.key)
        if not state or state.get("t") != tenant_id:
            return None
        if datetime.fromisoformat(state["at"]) + self.lifetime < datetime.now(UTC):
            self.end()
            return None
        return uuid.UUID(state["c"])

    def end(self) -> None:
        browser_session.pop(self.key, None)


def read_link_token(token: str, tenant_id: str, salt: str = _SALT) -> CenterLink:
    """The link's content if it is genuine, unexpired and for ``tenant_id``; else :class:`LinkRefused`.

    ``salt`` names the door: a link opens only its own."""
    return _read_link(token, tenant_id, salt)[0]


def _read_link(token: str, tenant_id: str, salt: str) -> tuple[CenterLink, datetime]:
    try:
        data, signed_at = link_serializer(salt=salt).loads(token, max_age=LINK_SECONDS, return_timestamp=True)
        link = CenterLink(tenant_id=data["t"], contact_id=uuid.UUID(data["c"]), link_id=str(data["l"]))
    except (BadData, KeyError, TypeError, ValueError):
        raise LinkRefused(REFUSED) from None
    if link.tenant_id != tenant_id:
        raise LinkRefused(REFUSED)
    return link, signed_at


def consume_link(session: TenantSession, link: CenterLink) -> None:
    """Mark the link used; a second use is refused (the insert of its id finds it there)."""
    inserted = session.execute(
        insert(PrivacyLinkUse)
        .values(link_id=link.link_id)
        .on_conflict_do_nothing()
        .returning(PrivacyLinkUse.link_id)
    ).first()
    if inserted is None or session.get(Contact, link.contact_id) is None:
        raise LinkRefused(REFUSED)


def contact_id_for_email(session: TenantSession, email: str) -> uuid.UUID | None:
    """The oldest contact with ``email`` (any case), whom a link request for that address is about."""
    return session.scalar(
        select(Contact.id)
        .where(func.lower(Contact.email) == email.lower())
        .order_by(Contact.created_at)
        .limit(1)
    )


def send_hub_link(session: TenantSession, contact_id: str | None, hub_url: str) -> bool:
    """Job body: mail the contact a fresh link to ``hub_url`` (the hub's start page); for an address
    that is no contact (``None``) nothing, so the request was the same work either way."""
    contact = session.get(Contact, uuid.UUID(contact_id)) if contact_id else None
    if contact is None or not contact.email:
        return False
    token = make_link_token(session.tenant.id, contact.id)
    name = branding(session, db.session.get(Tenant, session.tenant.id).name).name
    with in_locale(recipient_locale(contact.preferred_locale, session.tenant.id)):
        body = gettext(
            "Someone (we hope you) asked for a link to your page at %(name)s: your requests to us, "
            "your consents and the data we hold about you.\n\n"
            "Open it here (the link works once, for 15 minutes):\n%(link)s\n\n"
            "If this was not you, ignore this message.",
            name=name,
            link=f"{hub_url}enter/{token}",
        )
        sent = send_mail(contact.email, gettext("Your sign-in link for %(name)s", name=name), body)
    audit_privacy(session, "link.sent" if sent else "link.not_sent", actor="job", target=str(contact.id))
    db.session.commit()
    return sent


# Jobs queued before the hub name the privacy center's job: they now mail hub links too.
send_center_link = send_hub_link


def enqueue_hub_link(tenant_id: str, contact_id: uuid.UUID | None, hub_url: str) -> None:
    enqueue_for_tenant(
        tenant_id,
        "saas.modules.privacy.links.send_hub_link",
        str(contact_id) if contact_id else None,
        hub_url,
    )


def make_confirmation_token(tenant_id: str, event_id: int) -> str:
    return link_serializer(salt=CONFIRMATION_SALT).dumps({"t": tenant_id, "e": event_id})


def read_confirmation_token(token: str, tenant_id: str) -> int:
    """The pending consent event a genuine, unexpired confirmation link for ``tenant_id`` names."""
    try:
        data = link_serializer(salt=CONFIRMATION_SALT).loads(token, max_age=CONFIRMATION_SECONDS)
        event_id, link_tenant = int(data["e"]), data["t"]
    except (BadData, KeyError, TypeError, ValueError):
        raise LinkRefused(REFUSED) from None
    if link_tenant != tenant_id:
        raise LinkRefused(REFUSED)
    return event_id


def send_consent_confirmation(session: TenantSession, event_id: int, center_url: str) -> bool:
    """Job body: ask the person to confirm a pending email-marketing consent (double opt-in)."""
    event = session.get(ConsentEvent, event_id)
    contact = event and session.get(Contact, event.contact_id)
    if event is None or event.status != "pending" or contact is None or not contact.email:
        return False
    token = make_confirmation_token(session.tenant.id, event.id)
    # The purpose's title and notice text are the workspace's own words, sent as written.
    with in_locale(recipient_locale(contact.preferred_locale, session.tenant.id)):
        body = gettext(
            "Please confirm that you agree to: %(purpose)s.\n\n%(notice)s\n\n"
            "Confirm here:\n%(link)s\n\nIf you did not ask for this, ignore this message.",
            purpose=event.purpose.title,
            notice=event.notice.text,
            link=f"{center_url}confirm/{token}",
        )
        sent = send_mail(contact.email, gettext("Please confirm your subscription"), body)
    action = "consent.confirmation_sent" if sent else "consent.confirmation_not_sent"
    audit_privacy(session, action, actor="job", target=str(contact.id), details={"event": event.id})
    db.session.commit()
    return sent


def enqueue_consent_confirmation(tenant_id: str, event_id: int, center_url: str) -> None:
    enqueue_for_tenant(
        tenant_id, "saas.modules.privacy.links.send_consent_confirmation", event_id, center_url
    )
