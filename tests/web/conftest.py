"""Helpers of the shared web pages' tests: records made through the modules' own services."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.sfa.deals import deals
from saas.modules.sfa.leads import leads
from saas.modules.sfa.pipelines import default_pipeline
from saas.modules.switches import set_module_enabled
from tests.conftest import TenantFixture
from tests.mailsink import mail_sink  # noqa: F401  (the shared SMTP sink fixture, for signups)


def switch(fixture: TenantFixture, key: str, enabled: bool) -> None:
    set_module_enabled(db.session, fixture.tenant.id, key, enabled, actor="test")
    db.session.commit()


def add_records(fixture: TenantFixture, word: str) -> dict[str, str]:
    """A contact, an account, a lead and a deal (closing this month) whose names hold ``word``."""
    with tenant_session(fixture.ref) as session:
        account = services.accounts.create(
            session, {"name": f"{word} Industries", "domain": f"{word}.example"}
        )
        contact = services.contacts.create(
            session, {"first_name": "Ada", "last_name": word, "email": f"ada@{word}.example"}
        )
        lead = leads.create(session, {"first_name": "Lee", "last_name": word, "company": f"{word} Ltd"})
        deal = deals.create(
            session,
            {"name": f"{word} renewal", "amount": Decimal("1000.00"), "close_date": datetime.now(UTC).date()},
        )
        return {
            "account": str(account.id),
            "contact": str(contact.id),
            "lead": str(lead.id),
            "deal": str(deal.id),
        }


def stage_named(fixture: TenantFixture, name: str) -> str:
    with tenant_session(fixture.ref) as session:
        return str(next(s.id for s in default_pipeline(session).stages if s.name == name))


def card_cells(html: str, key: str) -> dict[tuple[str, str], str]:
    """The table of dashboard card ``key``: {(row label, series): figure}."""
    assert f'data-card="{key}"' in html, f"no card {key}"
    card = html.split(f'data-card="{key}"')[1].split('<li class="card"')[0]
    cells = {}
    for row in re.finditer(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', card, re.S):
        for cell in re.finditer(r'<td class="num" data-series="(.*?)">(.*?)</td>', row.group(2)):
            cells[(row.group(1), cell.group(1))] = cell.group(2)
    return cells
