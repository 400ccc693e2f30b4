"""Erasure of a person across every module, as a background job.

The job runs in one tenant transaction, so a crash leaves nothing half-erased and a retry starts
over; a completed request is never erased twice, nor by two jobs at once (the request row is
locked). Every contact sharing the person's email goes with them, and the email's salted hash
lands on the suppression list.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from saas.db import TenantSession, db
from saas.errors import Conflict
from saas.i18n import N_
from saas.jobs import enqueue_for_tenant
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.models import PrivacyRequest, PrivacyRequestStep
from saas.modules.privacy.requests import get_request
from saas.modules.privacy.subject import erase_subject, subjects_of_person, suppress_email

JOB = "saas.modules.privacy.erasure.run_erasure"


def start_erasure(session: TenantSession, request_id: uuid.UUID, actor: str) -> PrivacyRequest:
    """Queue the erasure of a verified erasure request's person (after this request commits)."""
    request = get_request(session, request_id)
    if request.kind != "erasure":
        raise Conflict(N_("Only an erasure request erases the person."))
    if request.status not in ("verified", "in_progress"):
        raise Conflict(
            N_(
                "A %(status)s request cannot start an erasure; verify it first.",
                status=request.status.replace("_", " "),
            )
        )
    request.status = "in_progress"
    request.trail.append(PrivacyRequestStep(action="erasure_queued", actor=actor))
    audit_privacy(session, "erasure.queued", actor=actor, target=str(request.id))
    session.flush()
    return request


def enqueue_erasure(tenant_id: str, request_id: uuid.UUID) -> None:
    enqueue_for_tenant(tenant_id, JOB, str(request_id))


def run_erasure(session: TenantSession, request_id: str) -> dict:
    """The job body: erase, suppress, complete the request; returns the report (counts only)."""
    # Locked for the whole run: a second job for the same request (queued again while the first looked
    # stuck) waits here and then finds it completed, instead of erasing beside it from a stale read.
    request = session.get(PrivacyRequest, uuid.UUID(request_id), with_for_update=True, populate_existing=True)
    if request is None:
        return {"skipped": "request is gone"}
    if request.status == "completed":
        return request.report  # idempotent: done already
    if request.kind != "erasure" or request.status != "in_progress":
        return {"skipped": f"request is {request.status}"}
    report: dict[str, int] = {}
    for subject in subjects_of_person(session, request.contact_id):
        if subject.email:
            suppress_email(session, subject.email, request.id)
        for table, count in erase_subject(session, subject).items():
            report[table] = report.get(table, 0) + count
    request.report = report
    request.status = "completed"
    request.completed_at = datetime.now(UTC)
    request.trail.append(PrivacyRequestStep(action="erased", actor="job"))
    session.flush()
    audit_privacy(session, "erasure.completed", actor="job", target=str(request.id), details=report)
    # The job's tenant transaction commits after this returns; the audit entry goes just before it.
    db.session.commit()
    return report
