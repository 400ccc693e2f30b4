"""The workflow email outbox on the engine's (:mod:`saas.automation.outbox`): what a workflow email says (a
marketing campaign as its template, merged for the contact, with an open pixel) and where its links point.
Opens come back through a signed pixel and wake the runs waiting for them."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select

from saas.automation import clock
from saas.automation.outbox import Outbox, Sending, WorkspaceSmtp
from saas.db import TenantSession
from saas.mail import mail_enabled
from saas.modules.workflows.models import WorkflowEmail, WorkflowEnrolment

log = logging.getLogger(__name__)

SEND_JOB = "saas.modules.workflows.emails.send_queued"
OPEN_TOKEN = "workflow-open"  # noqa: S105  (the tracking token's kind, no secret)
SENDER_LOCK = uuid.UUID("6f1d1f43-54f0-4f1e-9a2f-000000000001")
"""The advisory lock's name (with the schema): one workflow mail sender per workspace."""


class WorkflowOutbox(Outbox):
    """Workflow mail always goes through the workspace's SMTP server: none is claimed without it."""

    module = "workflows"
    emails = WorkflowEmail
    send_job = SEND_JOB
    sender = SENDER_LOCK
    usage_subject = "workflow"
    connect_first = True

    def sending(self, session: TenantSession) -> Sending | None:
        return Sending() if mail_enabled() else None

    def deliver(
        self, session: TenantSession, sending: Sending, email: WorkflowEmail, smtp: WorkspaceSmtp
    ) -> str | None:
        message = _message(session, email, _base_url(session, email))
        if message is None:
            return "template or contact deleted"
        smtp().send_message(message)
        return None


OUTBOX = WorkflowOutbox()


def _message(session: TenantSession, email: WorkflowEmail, base_url: str):
    from saas.modules.core.models import Contact
    from saas.modules.marketing.campaigns import get_settings
    from saas.modules.marketing.content import Sender, TrackedUrls, build_message, merge_values
    from saas.modules.marketing.models import Campaign
    from saas.modules.marketing.tracking import make_token

    template = session.get(Campaign, email.template_id)
    contact = session.get(Contact, email.contact_id)
    if template is None or contact is None:
        return None
    settings = get_settings(session)
    sender = Sender(settings.from_name, settings.from_email, settings.reply_to, settings.postal_address)
    tenant = session.tenant
    base = base_url.rstrip("/")
    urls = TrackedUrls(
        open_pixel=f"{base}/wf/{tenant.slug}/o/{make_token(OPEN_TOKEN, tenant.id, email.id)}.gif",
        unsubscribe=f"{base}/hub/{tenant.slug}/",  # the customer hub, where consents are withdrawn
        click={},
    )
    domain = sender.email.rsplit("@", 1)[-1]
    return build_message(
        sender=sender, to=email.email, subject=template.subject, html_body=template.html_body,
        text_body=template.text_body, values=merge_values(contact), urls=urls,
        message_id=f"<w{email.id}.{email.enrolment_id.hex}@{domain}>",
    )  # fmt: skip


def _base_url(session: TenantSession, email: WorkflowEmail) -> str:
    from saas.modules.workflows.models import Workflow

    workflow = session.scalar(
        select(Workflow)
        .join(WorkflowEnrolment, WorkflowEnrolment.workflow_id == Workflow.id)
        .where(WorkflowEnrolment.id == email.enrolment_id)
    )
    return (workflow.base_url if workflow else None) or "http://localhost"


def send_queued(session: TenantSession, batch_size: int = 100) -> dict[str, int]:
    """Job body (RQ path :data:`SEND_JOB`): mail every queued workflow email."""
    return OUTBOX.send_queued(session, batch_size)


def record_open(session: TenantSession, token: str) -> None:
    """The pixel of a workflow email loaded: the first open is kept and wakes the run waiting for it."""
    from saas.modules.marketing.tracking import read_token

    email_id = read_token(OPEN_TOKEN, token, session.tenant.id).recipient_id
    email = session.get(WorkflowEmail, email_id)
    if email is None or email.opened_at is not None:
        return
    email.opened_at = clock.now()
    from saas.modules.workflows.runs import wake

    wake(session, [email.enrolment_id])


def send_all_queued() -> dict[str, Any]:
    """Periodic: the outbox of every workspace (mail whose job was lost with Redis, or waited for SMTP)."""
    return OUTBOX.send_all_queued()
