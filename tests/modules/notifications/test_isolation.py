"""Notifications are their recipient's alone: tenant B's tokens and pages, and another member of the same
workspace, can neither read nor mark tenant A's member's notifications."""

from __future__ import annotations

from saas.auth.services import create_api_token
from saas.db import db
from saas.modules.core.activities import activities
from saas.modules.core.services import contacts
from saas.modules.notifications.models import Notification
from tests.conftest import PASSWORD, bearer, csrf_token_from, login, make_token
from tests.modules.notifications.conftest import make_team


def _mention(team, who: str):
    """The owner mentions ``who`` on a contact's timeline; returns the notification's id."""
    with team.acting(team.owner) as session:
        contact = contacts.create(session, {"first_name": "Zoë", "last_name": "Lee"})
        activities.create(session, {"kind": "note", "subject": f"Ask @{who}", "contact_id": contact.id})
    with team.acting(None) as session:
        newest = session.query(Notification.id).filter(Notification.user_id == team.id_of(who))
        return newest.order_by(Notification.created_at.desc(), Notification.id.desc()).first()[0]


def _token(team, email: str) -> dict[str, str]:
    _, secret = create_api_token(db.session, team.tenant.slug, email, "tests")
    db.session.commit()
    return bearer(secret)


def _read_at(team, notification_id):
    with team.acting(None) as session:
        return session.get(Notification, notification_id).read_at


def test_the_api_lists_and_marks_only_the_token_users_own_notifications(client, team):
    to_ann = _mention(team, team.ann)
    ann, bob = _token(team, team.ann), _token(team, team.bob)
    [listed] = client.get("/api/v1/notifications", headers=ann).get_json()["data"]
    assert listed["id"] == str(to_ann) and listed["kind"] == "mentioned"
    assert listed["url"].endswith(f"/t/{team.tenant.slug}/contacts/{listed['record_id']}")
    assert client.get("/api/v1/notifications", headers=bob).get_json()["data"] == []
    refused = client.post(f"/api/v1/notifications/{to_ann}/read", headers=bob)
    assert refused.status_code == 404 and refused.content_type == "application/problem+json"
    assert client.post("/api/v1/notifications/read", headers=bob).get_json() == {"marked": 0}
    assert _read_at(team, to_ann) is None
    marked = client.post(f"/api/v1/notifications/{to_ann}/read", headers=ann)
    assert marked.status_code == 200 and marked.get_json()["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=true", headers=ann).get_json()["data"] == []


def test_tenant_b_cannot_read_or_mark_tenant_a_notifications(client, team, tenant_b):
    to_ann = _mention(team, team.ann)
    token_b = bearer(make_token(tenant_b))
    assert client.get("/api/v1/notifications", headers=token_b).get_json()["data"] == []
    assert client.post(f"/api/v1/notifications/{to_ann}/read", headers=token_b).status_code == 404
    assert client.post("/api/v1/notifications/read", headers=token_b).get_json() == {"marked": 0}
    login(client, tenant_b.email, PASSWORD)
    base = f"/t/{tenant_b.slug}/notifications"
    assert str(to_ann) not in client.get(base).text
    assert client.get(f"{base}/{to_ann}/open").status_code == 404
    token = csrf_token_from(client.get(base).text)
    assert client.post(f"{base}/{to_ann}/read", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/t/{team.tenant.slug}/notifications").status_code in (403, 404)
    assert _read_at(team, to_ann) is None


def test_a_member_sees_their_own_in_the_centre_and_the_bell_and_not_a_colleagues(client, team):
    _mention(team, team.ann)
    to_ann = _mention(team, team.ann)
    base = f"/t/{team.tenant.slug}/notifications"
    login(client, team.bob, PASSWORD)
    page = client.get(base)
    assert str(to_ann) not in page.text and 'data-unread="0"' in page.text
    assert client.get(f"{base}/{to_ann}/open").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})
    login(client, team.ann, PASSWORD)
    page = client.get(base)
    assert 'data-unread="2"' in page.text and f"notification-{to_ann}" in page.text
    assert f"{team.owner} mentioned you on Zoë Lee" in page.text
    opened = client.get(f"{base}/{to_ann}/open")
    assert opened.status_code == 303 and f"/t/{team.tenant.slug}/contacts/" in opened.location
    assert _read_at(team, to_ann) is not None
    page = client.get(base)
    assert 'data-unread="1"' in page.text
    client.post(f"{base}/read", data={"csrf_token": csrf_token_from(page.text)})
    assert 'data-unread="0"' in client.get(base).text


def test_another_tenants_members_with_the_same_names_are_not_notified(team, make_tenant):
    other = make_team(make_tenant("gamma"))
    _mention(team, team.ann)
    with other.acting(None) as session:
        assert session.query(Notification).count() == 0
