"""What sequences hold on a person: their enrolments (with each one's history) and the emails sent."""

from __future__ import annotations

from sqlalchemy import delete, select

from saas.modules.registry import DataSubject
from saas.modules.sequences.models import SequenceEmail, SequenceEnrolment
from saas.modules.sequences.sequences import enrolments_of_contact


def personal_data(session, subject: DataSubject) -> dict:
    emails = session.scalars(select(SequenceEmail).where(SequenceEmail.contact_id == subject.contact_id))
    return {
        "sequence_enrolments": [
            {
                "sequence": view.sequence_name, "status": view.enrolment.status,
                "reason": view.enrolment.reason, "enrolled_at": view.enrolment.enrolled_at,
                "finished_at": view.enrolment.finished_at,
                "history": [
                    {"kind": e.kind, "outcome": e.outcome, "detail": e.detail, "at": e.at}
                    for e in view.events
                ],
            }
            for view in enrolments_of_contact(session, subject.contact_id)
        ],
        "sequence_emails": [
            {"email": e.email, "subject": e.subject, "body": e.body, "status": e.status, "sent_at": e.sent_at}
            for e in emails
        ],
    }  # fmt: skip


def erase_person(session, subject: DataSubject) -> dict[str, int]:
    emails = session.execute(
        delete(SequenceEmail).where(SequenceEmail.contact_id == subject.contact_id)
    ).rowcount
    enrolments = session.execute(
        delete(SequenceEnrolment).where(SequenceEnrolment.contact_id == subject.contact_id)
    ).rowcount
    return {"sequence_emails": emails, "sequence_enrolments": enrolments}
