"""What workflows hold on a person: the emails they were sent and the runs about them."""

from __future__ import annotations

from sqlalchemy import delete, select

from saas.modules.registry import DataSubject
from saas.modules.workflows.models import WorkflowEmail, WorkflowEnrolment


def personal_data(session, subject: DataSubject) -> dict:
    emails = session.scalars(select(WorkflowEmail).where(WorkflowEmail.contact_id == subject.contact_id))
    return {
        "workflow_emails": [
            {"email": e.email, "status": e.status, "sent_at": e.sent_at, "opened_at": e.opened_at}
            for e in emails
        ]
    }


def erase_person(session, subject: DataSubject) -> dict[str, int]:
    emails = session.execute(
        delete(WorkflowEmail).where(WorkflowEmail.contact_id == subject.contact_id)
    ).rowcount
    runs = session.execute(
        delete(WorkflowEnrolment).where(
            (WorkflowEnrolment.contact_id == subject.contact_id)
            | (WorkflowEnrolment.record_id == subject.contact_id)
        )
    ).rowcount
    return {"workflow_emails": emails, "workflow_enrolments": runs}
