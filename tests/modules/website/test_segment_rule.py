"""Segments on website activity: "viewed /pricing within the last 7 days" holds the contacts whose joined
browsers viewed it (or a page under it) then, not those who viewed it earlier, another page, or nothing;
a bad path is refused by name; the segment page offers the rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from saas.db import tenant_session
from saas.errors import ValidationError
from saas.modules.core.services import contacts
from saas.modules.marketing import segments
from saas.modules.marketing.models import Segment
from saas.modules.website.visits import Batch, identify_visitor, record_batch
from tests.conftest import login


def _person(session, name: str, paths_days_ago: list[tuple[str, int]]) -> None:
    contact = contacts.create(session, {"first_name": name, "email": f"{name.lower()}@example.org"})
    visitor = uuid.uuid4()
    now = datetime.now(UTC)
    for path, days in paths_days_ago:
        at = now - timedelta(days=days)
        view = {"occurred_at": at, "path": path, "title": None, "referrer": None}
        record_batch(session, Batch(visitor, uuid.uuid4(), [view]), now=at)
    identify_visitor(session, visitor, contact.id)


def _names(session, op: str, value: str) -> list[str]:
    rules = segments.clean_rules([{"field": "website_page", "op": op, "value": value}])
    _, preview = segments.count_and_preview(session, Segment(kind="rules", match="all", rules=rules))
    return sorted(contact.first_name for contact in preview)


def test_viewed_a_page_within_days_holds_the_right_contacts(tenant_a, tenant_b):
    with tenant_session(tenant_a.ref) as session:
        _person(session, "Recent", [("/pricing", 2)])
        _person(session, "Deeper", [("/pricing/enterprise", 1)])
        _person(session, "Old", [("/pricing", 20)])
        _person(session, "Elsewhere", [("/pricing-old", 1), ("/blog", 1)])
        contacts.create(session, {"first_name": "Never", "email": "never@example.org"})
        assert _names(session, "visited_within_7_days", "/pricing") == ["Deeper", "Recent"]
        assert _names(session, "visited_within_30_days", "/pricing/") == ["Deeper", "Old", "Recent"]
        assert _names(session, "not_visited_within_30_days", "/pricing") == ["Elsewhere", "Never"]
    with tenant_session(tenant_b.ref) as session:  # another workspace's visits count for nobody here
        contacts.create(session, {"first_name": "Bea", "email": "bea@example.org"})
        assert _names(session, "visited_within_30_days", "/pricing") == []


def test_a_bad_path_or_operator_is_refused_by_name():
    for rule in ({"field": "website_page", "op": "visited_within_7_days", "value": "pricing"},
                 {"field": "website_page", "op": "within_days", "value": "/pricing"}):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            segments.clean_rules([rule])
        assert list(refused.value.errors) == ["rules.0"]


def test_the_segment_page_offers_the_rule(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/marketing/segments/new?kind=rules")
    assert 'value="website_page"' in page.text and "viewed within the last 7 days" in page.text
