"""Workflow fixtures: the shared SMTP sink, people with consent, a sender and an email template (a
marketing campaign), workflows built through the service, and running the queued jobs."""

from __future__ import annotations

import uuid

import pytest

from saas.automation import clock
from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.workflows.workflows import create_workflow
from tests.conftest import TenantFixture
from tests.mailsink import MailSink, mail_sink  # noqa: F401  (the shared SMTP sink fixture)
from tests.modules.marketing import conftest as marketing
from tests.modules.marketing.conftest import make_campaign, sender_settings

__all__ = ["MailSink", "make_campaign", "sender_settings"]


def add_people(fixture: TenantFixture, states: dict[str, int]) -> dict[str, list[str]]:
    """Marketing's people, under addresses of their own: the queue (and an SMTP sink) may carry other
    tests' workspaces' mail to marketing's usual addresses."""
    return marketing.add_people(fixture, states, tag=f"wf{uuid.uuid4().hex[:8]}")


@pytest.fixture(autouse=True)
def _real_clock():
    clock.reset()
    yield
    clock.reset()


def make_workflow(fixture: TenantFixture, trigger: dict, steps: list[dict], **extra) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        workflow = create_workflow(
            session,
            {"name": extra.pop("name", "Flow"), "enabled": True, "trigger": trigger, "steps": steps, **extra},
            user_id=None,
            base_url="http://localhost/",
        )
        return workflow.id


def run_jobs() -> None:
    """Every queued job (enrolments advanced, the outbox mailed), as the worker runs them."""
    make_worker().work(burst=True)
