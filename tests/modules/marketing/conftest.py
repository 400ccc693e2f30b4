"""Marketing fixtures: the shared SMTP sink, audiences with every consent state, a sender, a campaign."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from saas.db import tenant_session
from saas.jobs import make_worker
from saas.modules.core.models import Contact
from saas.modules.marketing import campaigns, segments
from saas.modules.privacy.models import ConsentEvent, ConsentNotice, ConsentPurpose
from saas.modules.privacy.subject import suppress_email
from tests.conftest import TenantFixture
from tests.mailsink import MailSink, mail_sink  # noqa: F401  (the shared SMTP sink fixture)

__all__ = ["MailSink"]


@pytest.fixture(autouse=True)
def _fast_marketing(app, monkeypatch):
    monkeypatch.setitem(app.config, "MARKETING_RETRY_SECONDS", 0)
    monkeypatch.setitem(app.config, "MARKETING_PUBLIC_RATE_LIMIT", "1000 per minute")


def add_people(fixture: TenantFixture, states: dict[str, int], *, tag: str = "p") -> dict[str, list[str]]:
    """Contacts in bulk, by email-marketing state: granted, withdrawn (granted, then withdrawn), pending,
    suppressed (granted, but on the suppression list), none. Returns their emails by state.

    Rows go in with one INSERT per table (1,000 people through the services would take a minute);
    the ledger rows are the same the consent service writes.
    """
    emails: dict[str, list[str]] = {}
    with tenant_session(fixture.ref) as session:
        purpose, notice = session.execute(
            select(ConsentPurpose.id, ConsentNotice.id)
            .join(ConsentNotice, ConsentNotice.purpose_id == ConsentPurpose.id)
            .where(ConsentPurpose.key == "email_marketing")
        ).one()
        contacts, events = [], []
        for state, count in states.items():
            for i in range(count):
                contact_id = uuid.uuid4()
                email = f"{tag}-{state}-{i}@example.org"
                emails.setdefault(state, []).append(email)
                contacts.append(
                    {"id": contact_id, "first_name": f"{state.title()}{i}", "last_name": tag, "email": email}
                )
                statuses = {"granted": ["granted"], "suppressed": ["granted"], "pending": ["pending"],
                            "withdrawn": ["granted", "withdrawn"], "none": []}[state]  # fmt: skip
                events += [
                    {
                        "contact_id": contact_id,
                        "purpose_id": purpose,
                        "notice_id": notice,
                        "status": status,
                        "lawful_basis": "consent",
                        "source": "staff",
                        "actor": "test",
                    }
                    for status in statuses
                ]
        session.execute(insert(Contact), contacts)
        if events:
            session.execute(insert(ConsentEvent), events)
        for email in emails.get("suppressed", []):
            suppress_email(session, email, None)
    return emails


def sender_settings(fixture: TenantFixture, time_zone: str = "UTC") -> None:
    with tenant_session(fixture.ref) as session:
        campaigns.save_settings(
            session,
            {"from_name": "Acme News", "from_email": "news@acme.example", "postal_address": "1 Main St",
             "time_zone": time_zone},
        )  # fmt: skip


HTML = '<p>Hello {{ first_name | "friend" }}!</p><p><a href="https://acme.example/offer?x=1&amp;y=2">Offer</a></p>'
TEXT = "Hello {{ first_name }}!\nOffer: https://acme.example/offer?x=1&y=2\n"


def make_campaign(fixture: TenantFixture, *, rules=None, name: str = "Autumn") -> str:
    """A draft campaign to the tenant's people whose last name is ``p`` (or to ``rules``)."""
    with tenant_session(fixture.ref) as session:
        segment = segments.create_segment(
            session,
            {
                "name": f"{name} audience",
                "rules": rules or [{"field": "last_name", "op": "equals", "value": "p"}],
            },
        )
        campaign = campaigns.create_campaign(
            session,
            {"name": name, "subject": "News for {{ first_name }}", "html_body": HTML, "text_body": TEXT,
             "segment_id": segment.id},
        )  # fmt: skip
        return str(campaign.id)


def schedule_now(fixture: TenantFixture, campaign_id: str, send_at: datetime | None = None) -> None:
    with tenant_session(fixture.ref) as session:
        campaigns.schedule_campaign(session, uuid.UUID(campaign_id), send_at, "http://localhost/")


def run_jobs() -> None:
    make_worker().work(burst=True)


def now() -> datetime:
    return datetime.now(UTC)
