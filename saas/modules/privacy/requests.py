"""Data subject requests: opened by the person (privacy center) or by staff, each with a deadline
of one month and a trail of every step."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Contact
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.models import REQUEST_KINDS, PrivacyRequest, PrivacyRequestStep

OPEN_STATUSES = ("received", "verified", "in_progress")
# How a person proved who they are; a request cannot be acted on without one.
VERIFICATION_METHODS = ("email_link", "email_reply", "identity_document", "in_person", "signed_letter")
STAFF_STATUSES = {"in_progress": OPEN_STATUSES, "completed": OPEN_STATUSES, "rejected": OPEN_STATUSES}


def one_month_after(moment: datetime) -> datetime:
    """The same day next month, or that month's last day (31 January -> 28/29 February)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def is_overdue(request: PrivacyRequest, now: datetime | None = None) -> bool:
    return request.status in OPEN_STATUSES and request.due_at < (now or datetime.now(UTC))


def _step(
    session: TenantSession, request: PrivacyRequest, action: str, actor: str, note: str | None = None
) -> None:
    request.trail.append(PrivacyRequestStep(action=action, actor=actor, note=note))
    audit_privacy(
        session, f"request.{action}", actor=actor, target=str(request.id), details={"kind": request.kind}
    )


def open_request(
    session: TenantSession,
    *,
    kind: str,
    contact_id: uuid.UUID,
    channel: str,
    actor: str,
    verification_method: str | None,
    details: str | None = None,
) -> PrivacyRequest:
    """A new request; verified at once when the opener names how the person proved their identity."""
    if kind not in REQUEST_KINDS:
        raise ValidationError(
            N_("Invalid request type."),
            {"kind": [N_("Use one of: %(choices)s.", choices=", ".join(REQUEST_KINDS))]},
        )
    if verification_method is not None and verification_method not in VERIFICATION_METHODS:
        raise ValidationError(
            N_("Invalid verification method."),
            {
                "verification_method": [
                    N_("Use one of: %(choices)s.", choices=", ".join(VERIFICATION_METHODS))
                ]
            },
        )
    if session.get(Contact, contact_id) is None:
        raise NotFound(N_("No contact with id %(id)s.", id=contact_id))
    received = datetime.now(UTC)
    request = PrivacyRequest(
        kind=kind,
        contact_id=contact_id,
        channel=channel,
        verification_method=verification_method,
        status="verified" if verification_method else "received",
        details=(details or "").strip()[:5000] or None,
        received_at=received,
        due_at=one_month_after(received),
    )
    session.add(request)
    session.flush()
    _step(session, request, "received", actor, f"via {channel}")
    if verification_method:
        _step(session, request, "verified", actor, verification_method)
    session.flush()
    return request


def get_request(session: TenantSession, request_id: uuid.UUID) -> PrivacyRequest:
    request = session.get(PrivacyRequest, request_id)
    if request is None:
        raise NotFound(N_("No privacy request with id %(id)s.", id=request_id))
    return request


def list_requests(session: TenantSession, *, open_only: bool = False) -> list[PrivacyRequest]:
    """The queue, most urgent first."""
    query = select(PrivacyRequest).order_by(PrivacyRequest.due_at, PrivacyRequest.id)
    if open_only:
        query = query.where(PrivacyRequest.status.in_(OPEN_STATUSES))
    return list(session.scalars(query))


def requests_of_contact(session: TenantSession, contact_id: uuid.UUID) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.contact_id == contact_id)
            .order_by(PrivacyRequest.received_at)
        )
    )


def verify_request(session: TenantSession, request_id: uuid.UUID, method: str, actor: str) -> PrivacyRequest:
    request = get_request(session, request_id)
    if method not in VERIFICATION_METHODS:
        raise ValidationError(
            N_("Invalid verification method."),
            {
                "verification_method": [
                    N_("Use one of: %(choices)s.", choices=", ".join(VERIFICATION_METHODS))
                ]
            },
        )
    if request.status != "received":
        raise Conflict(N_("Only a request that was just received needs verifying."))
    request.verification_method = method
    request.status = "verified"
    _step(session, request, "verified", actor, method)
    session.flush()
    return request


def assign_request(
    session: TenantSession, request_id: uuid.UUID, user_id: uuid.UUID, actor: str
) -> PrivacyRequest:
    request = get_request(session, request_id)
    request.assignee_user_id = user_id
    _step(session, request, "assigned", actor, str(user_id))
    session.flush()
    return request


def set_request_status(
    session: TenantSession, request_id: uuid.UUID, status: str, actor: str, note: str | None = None
) -> PrivacyRequest:
    """Move a request on (in progress, completed, rejected); acting needs a verified identity."""
    request = get_request(session, request_id)
    if status not in STAFF_STATUSES:
        raise ValidationError(
            N_("Invalid status."),
            {"status": [N_("Use one of: %(choices)s.", choices=", ".join(STAFF_STATUSES))]},
        )
    if request.status not in STAFF_STATUSES[status]:
        raise Conflict(
            N_(
                "A %(status)s request cannot become %(wanted)s.",
                status=request.status.replace("_", " "),
                wanted=status.replace("_", " "),
            )
        )
    if status != "rejected" and request.verification_method is None:
        raise Conflict(N_("Verify the person's identity first."))
    request.status = status
    if status in ("completed", "rejected"):
        request.completed_at = datetime.now(UTC)
    _step(session, request, status, actor, (note or "").strip()[:500] or None)
    session.flush()
    return request
