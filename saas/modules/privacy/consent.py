"""The consent ledger: purposes with versioned notices, append-only events, state at any time.

:func:`may_contact` is the only gate marketing uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.models import (
    CONSENT_SOURCES,
    CONSENT_STATUSES,
    LAWFUL_BASES,
    ConsentEvent,
    ConsentNotice,
    ConsentPurpose,
)
from saas.modules.registry import ImportedConsent
from saas.webhooks.events import emit

_WITHDRAW = "You can withdraw at any time."
# The titles are marked for extraction and shown through ``translate`` (a renamed purpose keeps its own
# title); the notice texts stay as stored: a consent records the very text the person was shown.
DEFAULT_PURPOSES = (
    ("email_marketing", N_("Email marketing"), f"We may send you news and offers by email. {_WITHDRAW}"),
    ("sms_marketing", N_("SMS marketing"), f"We may send you news and offers by text message. {_WITHDRAW}"),
    ("profiling", N_("Profiling"), "We may analyse your interactions with us to tailor what we show you."),
    (
        "third_party_sharing",
        N_("Sharing with partners"),
        "We may share your contact details with selected partners.",
    ),
)


def seed_default_purposes(session: Session) -> None:
    """A new tenant's purposes, each with notice version 1."""
    for key, title, notice in DEFAULT_PURPOSES:
        purpose = ConsentPurpose(key=key, title=title)
        purpose.notices = [ConsentNotice(version=1, text=notice)]
        session.add(purpose)


def list_purposes(session: Session) -> list[ConsentPurpose]:
    return list(session.scalars(select(ConsentPurpose).order_by(ConsentPurpose.key)))


def get_purpose(session: Session, key: str) -> ConsentPurpose:
    purpose = session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == key))
    if purpose is None:
        known = ", ".join(p.key for p in list_purposes(session))
        raise ValidationError(
            N_("Unknown purpose '%(purpose)s'.", purpose=key),
            {"purpose": [N_("Use one of: %(choices)s.", choices=known)]},
        )
    return purpose


def current_notice(session: Session, purpose: ConsentPurpose) -> ConsentNotice:
    return session.scalars(
        select(ConsentNotice)
        .where(ConsentNotice.purpose_id == purpose.id)
        .order_by(ConsentNotice.version.desc())
    ).first()


def add_purpose(session: Session, key: str, title: str, notice_text: str) -> ConsentPurpose:
    """A tenant's own purpose, with notice version 1."""
    if session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == key)):
        raise ValidationError(N_("This purpose exists already."), {"key": [N_("Choose another key.")]})
    purpose = ConsentPurpose(key=key, title=title)
    purpose.notices = [ConsentNotice(version=1, text=notice_text)]
    session.add(purpose)
    session.flush()
    return purpose


def revise_notice(session: Session, key: str, notice_text: str) -> ConsentNotice:
    """A new version of a purpose's notice; earlier versions stay, as events point at them."""
    purpose = get_purpose(session, key)
    version = (
        session.scalar(select(func.max(ConsentNotice.version)).where(ConsentNotice.purpose_id == purpose.id))
        or 0
    ) + 1
    notice = ConsentNotice(purpose_id=purpose.id, version=version, text=notice_text)
    session.add(notice)
    session.flush()
    return notice


@dataclass(frozen=True)
class ConsentContext:
    """Where a consent change came from: the ledger's provenance columns."""

    source: str
    actor: str
    ip: str | None = None
    user_agent: str | None = None


# Email marketing needs double opt-in: a grant from a form or an import stays pending until the person
# confirms it with the signed link mailed to them.
DOUBLE_OPT_IN_PURPOSES = ("email_marketing",)
UNCONFIRMED_SOURCES = ("form", "import")


def needs_confirmation(purpose_key: str, status: str, source: str) -> bool:
    return status == "granted" and purpose_key in DOUBLE_OPT_IN_PURPOSES and source in UNCONFIRMED_SOURCES


CHOICE_REFUSALS = {
    "status": N_("Invalid status."),
    "source": N_("Invalid source."),
    "lawful_basis": N_("Invalid lawful basis."),
}
"""What a consent choice outside its list is refused with, one whole sentence per choice."""


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationError(
            CHOICE_REFUSALS[name], {name: [N_("Use one of: %(choices)s.", choices=", ".join(allowed))]}
        )


def record_consent(
    session: TenantSession,
    contact_id: uuid.UUID,
    purpose_key: str,
    status: str,
    context: ConsentContext,
    *,
    lawful_basis: str = "consent",
    notice_version: int | None = None,
    confirmed: bool = False,
) -> ConsentEvent:
    """Append one event to the ledger; ``notice_version`` is the version shown (default: current).

    A grant that needs double opt-in is stored as ``pending`` unless ``confirmed`` (by the person's link).
    """
    _check_choice("status", status, CONSENT_STATUSES)
    _check_choice("source", context.source, CONSENT_SOURCES)
    _check_choice("lawful_basis", lawful_basis, LAWFUL_BASES)
    if not confirmed and needs_confirmation(purpose_key, status, context.source):
        status = "pending"
    if session.get(Contact, contact_id) is None:
        raise NotFound(N_("No contact with id %(id)s.", id=contact_id))
    purpose = get_purpose(session, purpose_key)
    if notice_version is None:
        notice = current_notice(session, purpose)
    else:
        notice = session.scalar(
            select(ConsentNotice).where(
                ConsentNotice.purpose_id == purpose.id, ConsentNotice.version == notice_version
            )
        )
        if notice is None:
            raise ValidationError(N_("Unknown notice version."), {"notice_version": [N_("No such version.")]})
    event = ConsentEvent(
        contact_id=contact_id,
        purpose_id=purpose.id,
        notice_id=notice.id,
        status=status,
        lawful_basis=lawful_basis,
        source=context.source,
        actor=context.actor,
        ip=context.ip,
        user_agent=(context.user_agent or None) and context.user_agent[:300],
    )
    session.add(event)
    session.flush()
    session.refresh(event)
    audit_privacy(
        session, "consent.recorded", actor=context.actor, target=str(contact_id),
        details={"purpose": purpose.key, "status": status, "source": context.source, "event": event.id},
    )  # fmt: skip
    if status == "withdrawn":
        # Other modules hear of it through the registry (a sequence stops for a contact who unsubscribed).
        emit(session, "consent.withdrawn", {"contact_id": contact_id, "purpose": purpose.key})
    return event


def import_consents(session: Session, choices: list[ImportedConsent], actor: str) -> int:
    """Consent choices brought from another CRM (the registry's ``import_consents`` hook): one ledger event
    each, source ``import``, at the time the file gives (else now), on the purpose's current notice.

    An imported grant of a double opt-in purpose stays pending like any imported grant. Choices for
    purposes this workspace does not have are skipped. Written in one statement (an import brings
    thousands); one audit entry sums them up, not one per person."""
    purposes = {purpose.key: purpose for purpose in list_purposes(session)}
    notices: dict[str, uuid.UUID] = {}
    now = datetime.now(UTC)
    events = []
    for choice in choices:
        purpose = purposes.get(choice.purpose)
        if purpose is None or choice.status not in CONSENT_STATUSES:
            continue
        if purpose.key not in notices:
            notices[purpose.key] = current_notice(session, purpose).id
        status = "pending" if needs_confirmation(purpose.key, choice.status, "import") else choice.status
        events.append(
            {"contact_id": choice.contact_id, "purpose_id": purpose.id, "notice_id": notices[purpose.key],
             "status": status, "lawful_basis": "consent", "source": "import", "actor": actor,
             "occurred_at": choice.occurred_at or now}
        )  # fmt: skip
    if events:
        session.execute(insert(ConsentEvent), events)
        audit_privacy(session, "consent.imported", actor=actor, details={"events": len(events)})
    return len(events)


def confirm_consent(session: TenantSession, event_id: int, context: ConsentContext) -> ConsentEvent:
    """The person confirmed a pending grant: a granted event for the same notice version.

    Refused unless that pending event is still the latest for its purpose (withdrawn or confirmed since).
    """
    pending = session.get(ConsentEvent, event_id)
    latest_id = pending and session.scalar(
        select(func.max(ConsentEvent.id)).where(
            ConsentEvent.contact_id == pending.contact_id, ConsentEvent.purpose_id == pending.purpose_id
        )
    )
    if pending is None or pending.status != "pending" or latest_id != pending.id:
        raise Conflict(N_("There is nothing left to confirm: this consent was confirmed or changed since."))
    return record_consent(
        session,
        pending.contact_id,
        pending.purpose.key,
        "granted",
        ConsentContext(
            source=pending.source, actor=context.actor, ip=context.ip, user_agent=context.user_agent
        ),
        lawful_basis=pending.lawful_basis,
        notice_version=pending.notice.version,
        confirmed=True,
    )


def consent_history(session: Session, contact_id: uuid.UUID) -> list[ConsentEvent]:
    """Every event of the contact, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)
        )
    )


def consent_state(
    session: Session, contact_id: uuid.UUID, at: datetime | None = None
) -> dict[str, ConsentEvent | None]:
    """Each purpose's latest event for the contact as of ``at`` (now by default); None: never asked."""
    query = (
        select(ConsentEvent)
        .where(ConsentEvent.contact_id == contact_id)
        .distinct(ConsentEvent.purpose_id)
        .order_by(ConsentEvent.purpose_id, ConsentEvent.id.desc())
    )
    if at is not None:
        query = query.where(ConsentEvent.occurred_at <= at)
    latest = {event.purpose.key: event for event in session.scalars(query)}
    return {purpose.key: latest.get(purpose.key) for purpose in list_purposes(session)}


def parse_as_of(text: str | None) -> datetime | None:
    """The moment an "as of" input names: a date (``2024-05-31``) is the end of that day in UTC, so the
    day's own events count; a date-time (``2024-05-31T12:00:00+02:00``) is that moment (UTC when it has
    no offset). Empty: None, meaning now."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        message = N_("Use a date such as 2024-05-31, or a date and time such as 2024-05-31T12:00:00Z.")
        raise ValidationError(N_("'%(text)s' is not a date.", text=text[:40]), {"as_of": [message]}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ConsentReceipt:
    """Proof of one contact's consent for one purpose: every event with the notice text then shown."""

    contact: Contact
    purpose: ConsentPurpose
    events: list[ConsentEvent]
    """Oldest first; each keeps its notice (``event.notice.text``), time, source, address, browser, actor."""

    @property
    def current(self) -> ConsentEvent | None:
        return self.events[-1] if self.events else None

    @property
    def status(self) -> str | None:
        """The state now; None: never asked."""
        return self.current.status if self.current else None


def consent_receipt(session: Session, contact_id: uuid.UUID, purpose_key: str) -> ConsentReceipt:
    """The receipt of ``contact_id``'s consent for ``purpose_key``; NotFound for an unknown contact or
    purpose (the receipt's address names both)."""
    contact = session.get(Contact, contact_id)
    purpose = session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == purpose_key))
    if contact is None or purpose is None:
        raise NotFound("No such contact or purpose.")
    events = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.contact_id == contact_id, ConsentEvent.purpose_id == purpose.id)
        .order_by(ConsentEvent.id)
    )
    return ConsentReceipt(contact=contact, purpose=purpose, events=list(events))


def may_contact(session: Session, contact_id: uuid.UUID, purpose_key: str) -> bool:
    """Whether the contact's current consent allows ``purpose``: only an explicit grant does."""
    return contact_id in contactable(session, [contact_id], purpose_key)


def contactable(session: Session, contact_ids: Collection[uuid.UUID], purpose_key: str) -> set[uuid.UUID]:
    """The gate of :func:`may_contact` for many contacts in one query: those of ``contact_ids`` whose
    latest event for ``purpose`` is a grant."""
    if not contact_ids:
        return set()
    return set(session.scalars(granted_contacts(purpose_key, list(contact_ids))))


def granted_contacts(purpose_key: str, contact_ids: Select | Collection[uuid.UUID]) -> Select:
    """``SELECT contact_id`` of those of ``contact_ids`` (ids, or a query of them) whose latest event
    for ``purpose`` is a grant: :func:`may_contact`'s gate as SQL, which a campaign's audience joins."""
    latest = (
        select(ConsentEvent.contact_id, ConsentEvent.status)
        .join(ConsentPurpose, ConsentPurpose.id == ConsentEvent.purpose_id)
        .where(ConsentEvent.contact_id.in_(contact_ids), ConsentPurpose.key == purpose_key)
        .distinct(ConsentEvent.contact_id)
        .order_by(ConsentEvent.contact_id, ConsentEvent.id.desc())
        .subquery()
    )
    return select(latest.c.contact_id).where(latest.c.status == "granted")
