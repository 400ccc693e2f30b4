"""Visits are personal data: in the person's download and their erasure (others' untouched), gone with
their contact; the schedule counts settled days into anonymous daily figures (twice gives the same
figures) and deletes raw views past the workspace's retention; a tenant with the module off is skipped."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from saas.db import db, tenant_session
from saas.modules.core.models import Contact
from saas.modules.core.services import contacts
from saas.modules.privacy.subject import data_subject, erase_subject, personal_data_json
from saas.modules.switches import set_module_enabled
from saas.modules.website import rollup, site
from saas.modules.website.consent import PURPOSE_KEY
from saas.modules.website.models import WebsiteDailyPage, WebsitePageView, WebsiteVisitor
from saas.modules.website.visits import Batch, identify_visitor, record_batch
from tests.conftest import other_workspaces_set_aside

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _store(session, visitor: uuid.UUID, paths: list[str], at: datetime, visit: uuid.UUID | None = None):
    views = [{"occurred_at": at, "path": path, "title": None, "referrer": None} for path in paths]
    record_batch(session, Batch(visitor, visit or uuid.uuid4(), views), now=at)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_persons_download_holds_their_visits_and_erasure_removes_only_theirs(tenant_a):
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    with tenant_session(tenant_a.ref) as session:
        ann = contacts.create(session, {"first_name": "Ann", "email": "ann@example.org"})
        bob = contacts.create(session, {"first_name": "Bob", "email": "bob@example.org"})
        _store(session, mine, ["/ann-page"], NOON)
        _store(session, theirs, ["/bob-page"], NOON)
        identify_visitor(session, mine, ann.id)
        identify_visitor(session, theirs, bob.id)
        ann_id = ann.id
    with tenant_session(tenant_a.ref) as session:
        document = json.loads(personal_data_json(session, ann_id, "Alpha"))
        data = document["data"]["website"]
        assert [v["path"] for v in data["website_page_views"]] == ["/ann-page"]
        assert [v["id"] for v in data["website_visitors"]] == [str(mine)]
        assert "/bob-page" not in json.dumps(document)
        report = erase_subject(session, data_subject(session, ann_id))
        assert (report["website_visitors"], report["website_page_views"]) == (1, 1)
    with tenant_session(tenant_a.ref) as session:
        assert [v.path for v in session.scalars(select(WebsitePageView))] == ["/bob-page"]
        # Deleting a contact (a retention policy, staff) takes their browsers and views with it.
        session.delete(session.get(Contact, bob.id))
        session.flush()
        assert (_count(session, WebsiteVisitor), _count(session, WebsitePageView)) == (0, 0)


def test_settled_days_are_counted_once_and_old_raw_views_deleted(tenant_a):
    ann, bob, visit = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with tenant_session(tenant_a.ref) as session:
        site.update_settings(session, {"origins": [], "retention_days": 30})
        _store(session, ann, ["/", "/pricing"], NOON, visit)
        _store(session, ann, ["/pricing"], NOON + timedelta(hours=1), visit)
        _store(session, bob, ["/pricing"], NOON + timedelta(hours=2))
        _store(session, bob, ["/late"], NOON + timedelta(days=2))  # not settled yet at the first run
        first = rollup.roll_up(session, now=NOON + timedelta(days=3, hours=1))
        again = rollup.roll_up(session, now=NOON + timedelta(days=3, hours=2))
        figures = {
            (row.day, row.path): (row.views, row.visitors, row.sessions)
            for row in session.scalars(select(WebsiteDailyPage))
        }
        assert figures == {(date(2026, 11, 10), "/"): (1, 1, 1), (date(2026, 11, 10), "/pricing"): (3, 2, 2)}
        assert first["deleted"] == again["deleted"] == 0 and _count(session, WebsitePageView) == 5
        assert rollup.top_pages(session, date(2026, 11, 1)) == [("/pricing", 3, 2), ("/", 1, 1)]
        # Past retention (30 days) the raw views go; the day's figures stay, and /late was counted meanwhile.
        later = rollup.roll_up(session, now=NOON + timedelta(days=31))
        assert later["deleted"] == 4
        assert [v.path for v in session.scalars(select(WebsitePageView))] == ["/late"]
        assert session.get(WebsiteDailyPage, (date(2026, 11, 12), "/late")).views == 1
        assert session.get(WebsiteDailyPage, (date(2026, 11, 10), "/pricing")).views == 3


def test_the_scheduled_job_serves_tenants_with_the_module_on_and_keeps_each_tenants_views(
    app_ctx, tenant_a, tenant_b
):
    old = datetime.now(UTC) - timedelta(days=200)
    for fixture in (tenant_a, tenant_b):
        with tenant_session(fixture.ref) as session:
            _store(session, uuid.uuid4(), [f"/{fixture.slug}"], old)
    set_module_enabled(db.session, tenant_b.tenant.id, "website", False, actor="test")
    db.session.commit()
    with other_workspaces_set_aside(tenant_a, tenant_b):
        report = rollup.roll_up_all()  # other tests' tenants are in the registry too: check these two only
    assert report["skipped"].get(tenant_b.tenant.id) == "module_off"
    assert tenant_a.tenant.id not in report["skipped"] and tenant_a.tenant.id not in report["failed"]
    with tenant_session(tenant_a.ref) as session:
        assert _count(session, WebsitePageView) == 0
        assert [row.path for row in session.scalars(select(WebsiteDailyPage))] == [f"/{tenant_a.slug}"]
    with tenant_session(tenant_b.ref) as session:
        assert _count(session, WebsitePageView) == 1 and _count(session, WebsiteDailyPage) == 0


def test_a_new_workspace_has_the_website_analytics_consent_purpose(tenant_a):
    from saas.modules.privacy.consent import current_notice, get_purpose

    with tenant_session(tenant_a.ref) as session:
        purpose = get_purpose(session, PURPOSE_KEY)
        assert "record the pages you view" in current_notice(session, purpose).text
