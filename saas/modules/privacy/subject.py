"""One person across every module: what is held on them, erasing them, and keeping them erased.

Iterates the registry's privacy hooks; no module is named here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, LargeBinary, Select, String, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.models import ConsentEvent, PrivacyRequest, PrivacySettings, SuppressedEmail
from saas.modules.registry import DataSubject, registry


def data_subject(session: Session, contact_id: uuid.UUID) -> DataSubject:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(N_("No contact with id %(id)s.", id=contact_id))
    return DataSubject(contact_id=contact.id, email=contact.email)


def subjects_of_person(session: Session, contact_id: uuid.UUID | None) -> list[DataSubject]:
    """The contact and every other contact with the same email (one person recorded twice), that one first."""
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact is None:
        return []
    others = []
    if contact.email:
        others = session.scalars(
            select(Contact)
            .where(func.lower(Contact.email) == contact.email.lower(), Contact.id != contact.id)
            .order_by(Contact.created_at, Contact.id)
        ).all()
    return [DataSubject(c.id, c.email) for c in (contact, *others)]


def _held_on(session: Session, subject: DataSubject) -> dict:
    return {module.key: module.personal_data(session, subject) for module in registry if module.personal_data}


def collect_personal_data(session: Session, contact_id: uuid.UUID) -> dict:
    """Everything every module holds on the person, keyed by module (the person's JSON download).

    Switched-off modules are included: their data is still held. Further contacts with the same email
    follow under ``other_records``.
    """
    subject, *others = subjects_of_person(session, data_subject(session, contact_id).contact_id)
    data = _held_on(session, subject)
    if others:
        data["other_records"] = [_held_on(session, other) for other in others]
    return data


def personal_data_json(session: Session, contact_id: uuid.UUID, workspace: str) -> str:
    """The person's data as the JSON document handed to them (privacy center, access requests)."""
    document = {
        "workspace": workspace,
        "generated_at": datetime.now(UTC),
        "data": collect_personal_data(session, contact_id),
    }
    return json.dumps(document, default=str, indent=2)


def erase_subject(session: Session, subject: DataSubject) -> dict[str, int]:
    """Run every module's erasure hook; counts per table, no personal data."""
    report: dict[str, int] = {}
    # Core holds the contact row itself: it goes last, so every other hook still finds rows linked to it
    # (deleting it first would cascade them away uncounted, or detach them by SET NULL).
    for module in sorted(registry, key=lambda module: module.key == "core"):
        if module.erase_person is not None:
            for table, count in module.erase_person(session, subject).items():
                report[table] = report.get(table, 0) + count
    return report


# The privacy module's own hooks.


def personal_data(session: Session, subject: DataSubject) -> dict:
    events = session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == subject.contact_id).order_by(ConsentEvent.id)
    )
    requests = session.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.contact_id == subject.contact_id)
        .order_by(PrivacyRequest.id)
    )
    return {
        "consents": [
            {
                "purpose": e.purpose.key,
                "status": e.status,
                "lawful_basis": e.lawful_basis,
                "source": e.source,
                "notice_version": e.notice.version,
                "notice_text": e.notice.text,
                "at": e.occurred_at,
                "ip": e.ip,
                "user_agent": e.user_agent,
            }
            for e in events
        ],
        "requests": [
            {"kind": r.kind, "status": r.status, "received_at": r.received_at, "details": r.details}
            for r in requests
        ],
    }


def erase_person(session: Session, subject: DataSubject) -> dict[str, int]:
    """Consents go; requests stay (their trail is the proof of compliance) without person or text."""
    consents = session.execute(
        ConsentEvent.__table__.delete().where(ConsentEvent.contact_id == subject.contact_id)
    ).rowcount
    requests = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.contact_id == subject.contact_id)
        .values(contact_id=None, details=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return {"consent_events": consents, "privacy_requests_anonymised": requests}


def retention_keep(cutoff: datetime) -> list[Select]:
    """People with an open request, or whose consent changed since the cutoff."""
    from saas.modules.privacy.requests import OPEN_STATUSES

    return [
        select(PrivacyRequest.contact_id).where(
            PrivacyRequest.contact_id.is_not(None), PrivacyRequest.status.in_(OPEN_STATUSES)
        ),
        select(ConsentEvent.contact_id).where(ConsentEvent.occurred_at >= cutoff),
    ]


def privacy_settings(session: Session) -> PrivacySettings:
    """The tenant's one settings row, made on first use with a fresh salt (concurrent first uses agree)."""
    settings = session.get(PrivacySettings, 1)
    if settings is None:
        session.execute(
            insert(PrivacySettings)
            .values(id=1, suppression_salt=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["id"])
        )
        settings = session.get(PrivacySettings, 1)
    return settings


def _salt(session: Session) -> bytes:
    return privacy_settings(session).suppression_salt.encode()


def _hash(salt: bytes, email: str) -> str:
    return hmac.new(salt, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def email_hash(session: Session, email: str) -> str:
    return _hash(_salt(session), email)


PLAIN_EMAIL = "^[!-~]+$"
"""Emails of printable ASCII without whitespace: for them ``strip()`` changes nothing and ``lower()`` is
ASCII's, so PostgreSQL computes the very hash :func:`_hash` does (see :func:`suppression_hash_sql`)."""
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"


def ascii_lower_sql(email: ColumnElement[str]) -> ColumnElement[str]:
    """``lower()`` of ASCII letters only, whatever the database's locale (Turkish 'I' included)."""
    return func.translate(email, _UPPER, _LOWER)


def suppression_hash_sql(session: Session, email: ColumnElement[str]) -> ColumnElement[str]:
    """The suppression list's HMAC-SHA256 of ``email`` computed in the database, from PostgreSQL's own
    ``sha256`` (no extension needed): exact for emails matching :data:`PLAIN_EMAIL` only; others must
    go through :func:`refused_people`. The salt stays out of the SQL text (bound parameters)."""
    key = _salt(session)
    key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")  # RFC 2104
    inner = bindparam("hmac_inner", bytes(b ^ 0x36 for b in key), type_=LargeBinary)
    outer = bindparam("hmac_outer", bytes(b ^ 0x5C for b in key), type_=LargeBinary)
    message = func.convert_to(ascii_lower_sql(email), "UTF8")
    inner_hash = func.sha256(inner.op("||")(message), type_=LargeBinary)
    return func.encode(func.sha256(outer.op("||")(inner_hash), type_=LargeBinary), "hex")


def suppress_email(session: Session, email: str, request_id: uuid.UUID | None) -> None:
    session.execute(
        insert(SuppressedEmail)
        .values(email_hash=email_hash(session, email), request_id=request_id)
        .on_conflict_do_nothing(index_elements=["email_hash"])
    )


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(SuppressedEmail, email_hash(session, email)) is not None


ERASED = "This email belongs to a person who asked to be erased; they cannot be added again."


def refused_people(session: Session, emails: Collection[str]) -> dict[str, str]:
    """Of these emails, the erased people's (on the suppression list): they are not to be recreated."""
    salt = _salt(session)
    by_hash = {_hash(salt, email): email for email in emails if email}
    hashes = any_(bindparam("hashes", list(by_hash), type_=ARRAY(String)))  # one parameter, not one per email
    found = session.scalars(select(SuppressedEmail.email_hash).where(SuppressedEmail.email_hash == hashes))
    return {by_hash[digest]: ERASED for digest in found}


def lift_suppression(session: TenantSession, email: str, lawful_reason: str, actor: str) -> bool:
    """Staff let an erased person be recorded again, for a stated lawful reason (audited, without the email).

    Returns whether the email was suppressed at all.
    """
    reason = (lawful_reason or "").strip()
    if len(reason) < 10:
        raise ValidationError(
            N_("State the lawful reason for recording this person again."),
            {"lawful_reason": [N_("Give the lawful reason (at least 10 characters).")]},
        )
    entry = session.get(SuppressedEmail, email_hash(session, email))
    if entry is None:
        return False
    session.delete(entry)
    session.flush()
    audit_privacy(
        session,
        "suppression.lifted",
        actor=actor,
        target=str(entry.request_id),
        details={"reason": reason[:500]},
    )
    return True
