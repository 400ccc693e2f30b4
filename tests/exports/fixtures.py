"""A tenant with awkward data in every table, for round trips."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.exports.format import tenant_tables
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.sfa.models import (
    Deal,
    DealContact,
    DealStageChange,
    ImportJob,
    ImportRowError,
    Lead,
    Pipeline,
    Stage,
    Task,
)

AWKWARD = 'Zoë "Zed" O\'Brien, Jr.\nsecond line\r\nthird, with comma; 日本語 🚀 \\ backslash'
LARGE = ('Lorem ipsum dolor sit amet, ünïcödé, "quoted"\n' * 25_000)[:1_000_000]


def fill_every_table(fixture) -> None:
    """Rows in every tenant table, with unicode, separators, quotes, newlines, NULLs and large text."""
    with tenant_session(fixture.ref) as session:
        account = Account(name=AWKWARD[:200], domain="zoe.example", industry=None, notes=LARGE)
        bare = Account(name="", domain=None)  # empty string, not NULL
        session.add_all([account, bare])
        session.flush()
        contact = Contact(
            first_name="Zoë", last_name=AWKWARD[:100], email="zoe@zoe.example", account_id=account.id
        )
        nulls = Contact(first_name=None, last_name="Nulls", email=None, phone=None, notes="")
        session.add_all([contact, nulls])
        session.flush()
        pipeline = session.scalar(select(Pipeline))
        stages = session.scalars(select(Stage).order_by(Stage.position)).all()
        deal = Deal(
            name='Big, "quoted" deal',
            amount=Decimal("12345.67"),
            currency="EUR",
            close_date=date(2027, 1, 31),
            pipeline_id=pipeline.id,
            stage_id=stages[2].id,
            owner_user_id=uuid.uuid4(),
            account_id=account.id,
        )
        session.add(deal)
        session.flush()
        session.add(DealContact(deal_id=deal.id, contact_id=contact.id, role="decider"))
        session.add(
            DealStageChange(
                deal_id=deal.id, from_stage_id=stages[1].id, to_stage_id=stages[2].id, probability=50
            )
        )
        lead = Lead(
            first_name="Lee", last_name="Ad", email="lee@ad.example", company=AWKWARD[:200], source="web"
        )
        session.add(lead)
        occurred = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
        session.add(
            Activity(
                kind="note", subject="Call notes", body=AWKWARD, contact_id=contact.id, account_id=account.id,
                occurred_at=occurred,
            )
        )  # fmt: skip
        session.add(Task(title="Follow up", due_at=datetime(2026, 12, 1, 9, tzinfo=UTC), deal_id=deal.id))
        job = ImportJob(
            entity="contacts", filename="ünï.csv", content=bytes(range(256)), mapping={"E-mail": "email"}
        )
        session.add(job)
        session.flush()
        session.add(
            ImportRowError(job_id=job.id, row_number=7, column="email", reason=AWKWARD, raw={"x": [1, None]})
        )


def empty_tables(fixture) -> list[str]:
    with tenant_session(fixture.ref) as session:
        return [
            spec.name
            for spec in tenant_tables()
            if session.scalar(select(func.count()).select_from(spec.table)) == 0
        ]
