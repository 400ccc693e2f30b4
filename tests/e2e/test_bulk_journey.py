"""An admin filters 520 leads, selects all that match, assigns them to a rep and watches the job's progress
to the end; then every matching lead has the owner, the others none, and one audit entry tells of it."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import insert, select

from saas.audit import AuditEntry
from saas.auth.services import find_user_by_email
from saas.db import db, tenant_session
from saas.jobs import make_worker
from saas.modules.sfa.models import Lead
from tests.e2e.conftest import Browsers, add_rep, sign_in

MATCHING = 520  # the seeding below makes these "working" leads


def test_admin_assigns_every_filtered_lead_to_a_rep_watching_the_progress(browsers: Browsers, tenant_a):
    rep_email = add_rep(tenant_a)
    rep_id = find_user_by_email(db.session, rep_email).id
    with tenant_session(tenant_a.ref) as session:  # one statement: seeding is setup, not the journey
        session.execute(
            insert(Lead),
            [{"id": uuid.uuid4(), "last_name": f"Prospect {i:04d}", "status": "working"} for i in range(520)]
            + [{"id": uuid.uuid4(), "last_name": f"Fresh {i}", "status": "new"} for i in range(5)],
        )
    page = browsers.new_page()
    sign_in(page, tenant_a.email)
    page.goto(f"/t/{tenant_a.slug}/leads")
    search = page.locator("#main").get_by_role("search")
    search.get_by_label("Status", exact=True).select_option("working")
    search.get_by_role("button", name="Search").click()
    chips = page.get_by_role("list", name="Active filters")
    expect(chips).to_contain_text("Status: Working")

    page.get_by_label("All records that match this filter").check()
    page.get_by_label("Action", exact=True).select_option("assign_owner")
    page.get_by_label("New owner").select_option(label=rep_email)
    page.get_by_role("button", name="Apply").click()

    progress = page.locator("#bulk-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    expect(progress).to_contain_text(f"/{MATCHING}")
    make_worker().work(burst=True)  # the worker takes the job while the page polls its progress
    expect(page.locator("#bulk-progress")).to_have_attribute("data-status", "done", timeout=15_000)
    expect(page.locator("#bulk-progress")).to_contain_text(f"{MATCHING}/{MATCHING}")
    page.get_by_role("link", name="Back to the list").click()
    expect(page.get_by_role("list", name="Active filters")).to_contain_text("Status: Working")

    with tenant_session(tenant_a.ref) as session:
        owners = {(lead.status, lead.owner_user_id) for lead in session.scalars(select(Lead))}
    assert owners == {("working", rep_id), ("new", None)}
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_a.tenant.id, AuditEntry.action == "records.bulk_assign_owner"
        )
    ).all()
    assert [(entry.details["done"], entry.details["failed"]) for entry in entries] == [(MATCHING, 0)]
