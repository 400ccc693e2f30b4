"""A person's own time zone: chosen on their account page, it beats the workspace's on every page that
formats times through the i18n filters (here the record timeline), in every workspace they belong to;
a colleague without a choice keeps seeing the workspace's zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from saas.auth.models import User
from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.core.activities import activities
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD, csrf_token_from, login

# Iran keeps +03:30 all year; Berlin is on winter time (+01:00) on 1 February.
WHEN = datetime(2031, 2, 1, 12, 30, tzinfo=UTC)


def _contact_with_entry(fixture) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        contact = services.contacts.create(session, {"first_name": "Dariush", "email": "d@example.com"})
        activities.create(
            session, {"kind": "meeting", "subject": "Lunch", "occurred_at": WHEN, "contact_id": contact.id}
        )
        return contact.id


def _set_workspace_zone(fixture, zone: str | None) -> None:
    db.session.get(Tenant, fixture.tenant.id).time_zone = zone
    db.session.commit()


def _choose(client, zone: str):
    security = client.get("/account/security")
    return client.post(
        "/account/time-zone", data={"csrf_token": csrf_token_from(security.text), "time_zone": zone}
    )


def _saved_zone(email: str) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(User.time_zone).where(User.email == email))


def _logout(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/account/security").text)})


def test_the_users_zone_beats_the_workspaces_and_a_colleague_keeps_the_workspaces(client, tenant_a):
    contact_id = _contact_with_entry(tenant_a)
    _set_workspace_zone(tenant_a, "Europe/Berlin")
    add_member(db.session, tenant_a.tenant.id, "colleague@example.com", PASSWORD, "member", actor="test")
    db.session.commit()
    page_url = f"/t/{tenant_a.slug}/contacts/{contact_id}"

    login(client, tenant_a.email, tenant_a.password)
    assert "2031-02-01 13:30 Europe/Berlin" in client.get(page_url).text  # no choice: the workspace's
    security = client.get("/account/security")
    assert "The workspace's time zone" in security.text and '<option value="Asia/Tehran">' in security.text
    saved = _choose(client, "Asia/Tehran")
    assert saved.status_code == 302 and _saved_zone(tenant_a.email) == "Asia/Tehran"
    page = client.get(page_url).text
    assert "2031-02-01 16:00 Asia/Tehran" in page and "Europe/Berlin" not in page
    assert '<option value="Asia/Tehran" selected>' in client.get("/account/security").text
    _logout(client)

    login(client, "colleague@example.com", PASSWORD)
    page = client.get(page_url).text
    assert "2031-02-01 13:30 Europe/Berlin" in page and "Asia/Tehran" not in page
    assert _saved_zone("colleague@example.com") is None
    _logout(client)

    # Back to "the workspace's time zone".
    login(client, tenant_a.email, tenant_a.password)
    assert _choose(client, "").status_code == 302 and _saved_zone(tenant_a.email) is None
    assert "2031-02-01 13:30 Europe/Berlin" in client.get(page_url).text


def test_the_choice_belongs_to_the_person_in_every_workspace(client, tenant_a, tenant_b):
    contact_b = _contact_with_entry(tenant_b)
    _set_workspace_zone(tenant_b, "America/New_York")
    add_member(db.session, tenant_b.tenant.id, tenant_a.email, PASSWORD, "member", actor="test")
    db.session.commit()

    login(client, tenant_a.email, tenant_a.password)
    page_url = f"/t/{tenant_b.slug}/contacts/{contact_b}"
    assert "2031-02-01 07:30 America/New_York" in client.get(page_url).text
    assert _choose(client, "Asia/Tehran").status_code == 302  # chosen once, from anywhere
    assert "2031-02-01 16:00 Asia/Tehran" in client.get(page_url).text
    _logout(client)

    # B's own owner, in the same workspace, still reads New York time: the choice is not the workspace's.
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(page_url).text
    assert "2031-02-01 07:30 America/New_York" in page and "Asia/Tehran" not in page
    assert _saved_zone(tenant_b.email) is None


def test_an_unknown_zone_is_refused_and_nothing_is_saved(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    assert _choose(client, "Europe/Berlin").status_code == 302
    for bad in ("Mars/Olympus", "../../etc/passwd", "x" * 300, "EST"):
        refused = _choose(client, bad)
        assert refused.status_code == 422 and "Choose a time zone from the list." in refused.text, bad
        assert _saved_zone(tenant_a.email) == "Europe/Berlin", bad
    # A forged form without the CSRF token changes nothing either.
    forged = client.post("/account/time-zone", data={"time_zone": "Asia/Tehran"})
    assert forged.status_code == 400 and _saved_zone(tenant_a.email) == "Europe/Berlin"


def test_public_pages_keep_the_workspaces_zone_and_the_api_stays_utc(client, tenant_a):
    from tests.conftest import bearer, make_token

    _contact_with_entry(tenant_a)
    user = db.session.scalar(select(User).where(User.email == tenant_a.email))
    user.time_zone = "Asia/Tehran"
    db.session.commit()
    response = client.get("/api/v1/activities", headers=bearer(make_token(tenant_a)))
    assert response.status_code == 200, response.text
    [entry] = [a for a in response.json["data"] if a["subject"] == "Lunch"]
    assert datetime.fromisoformat(entry["occurred_at"]) == WHEN
    assert entry["occurred_at"].endswith(("+00:00", "Z"))
