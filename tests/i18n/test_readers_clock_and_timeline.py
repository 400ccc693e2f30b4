"""Two things a reader reads in their own terms. Times typed into a form (a task's due time, a timeline
entry's time, inline edits) are on the reader's clock and shown back on it, while the API stays UTC. And
the entries the product writes on a timeline (a deal moved, a task done) read in each reader's language,
while the API, search and exports keep the English text they were written with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from saas.auth.models import User
from saas.db import db, tenant_session
from saas.i18n import Phrase, in_locale, shown_phrase
from saas.modules.core import services
from saas.modules.core.models import Activity
from saas.modules.sfa.deals import deals
from saas.modules.sfa.models import Task
from saas.modules.sfa.pipelines import default_pipeline
from tests.conftest import bearer, csrf_token_from, login, make_token

TEHRAN = "Asia/Tehran"  # +03:30 all year


def _reader(fixture, *, locale: str | None = None, zone: str | None = None) -> None:
    user = db.session.scalar(select(User).where(User.email == fixture.email))
    user.locale, user.time_zone = locale, zone
    db.session.commit()


def test_a_task_due_time_is_typed_and_shown_on_the_readers_clock(client, tenant_a):
    _reader(tenant_a, zone=TEHRAN)
    login(client, tenant_a.email, tenant_a.password)
    form = client.get(f"/t/{tenant_a.slug}/tasks/new")
    assert "Time zone: Asia/Tehran" in form.text and "Due (UTC)" not in form.text
    created = client.post(
        f"/t/{tenant_a.slug}/tasks/new",
        data={"csrf_token": csrf_token_from(form.text), "title": "Call back", "due_at": "2031-02-01T16:00"},
    )
    assert created.status_code == 302, created.text
    task_id = uuid.UUID(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Task, task_id).due_at == datetime(2031, 2, 1, 12, 30, tzinfo=UTC)

    edit = client.get(f"/t/{tenant_a.slug}/tasks/{task_id}/edit")
    assert 'value="2031-02-01T16:00"' in edit.text
    api = client.get(f"/api/v1/tasks/{task_id}", headers=bearer(make_token(tenant_a)))
    assert api.json["due_at"].startswith("2031-02-01T12:30:00")  # programs read UTC

    # The page's inline edit reads the same clock, and a typed offset wins over it.
    page = client.get(f"/t/{tenant_a.slug}/tasks/{task_id}")
    token = csrf_token_from(page.text)
    saved = client.post(
        f"/t/{tenant_a.slug}/tasks/{task_id}/property",
        json={"name": "due_at", "value": "2031-02-02T09:00"},
        headers={"X-CSRFToken": token},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json["value"] == "2031-02-02T09:00"
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Task, task_id).due_at == datetime(2031, 2, 2, 5, 30, tzinfo=UTC)

    # Nonsense is refused with the field's message, and nothing changes.
    refused = client.post(
        f"/t/{tenant_a.slug}/tasks/{task_id}/property",
        json={"name": "due_at", "value": "next tuesday"},
        headers={"X-CSRFToken": token},
    )
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    with tenant_session(tenant_a.ref) as session:
        assert session.get(Task, task_id).due_at == datetime(2031, 2, 2, 5, 30, tzinfo=UTC)


def test_a_timeline_entry_logged_by_hand_is_on_the_readers_clock(client, tenant_a):
    _reader(tenant_a, zone=TEHRAN)
    with tenant_session(tenant_a.ref) as session:
        contact_id = services.contacts.create(session, {"first_name": "Shirin"}).id
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/contacts/{contact_id}")
    assert "When (Asia/Tehran, empty for now)" in page.text
    logged = client.post(
        f"/t/{tenant_a.slug}/contacts/{contact_id}/activities",
        data={
            "csrf_token": csrf_token_from(page.text),
            "kind": "call",
            "subject": "Called",
            "occurred_at": "2031-02-01T09:00",
        },
    )
    assert logged.status_code == 302, logged.text
    with tenant_session(tenant_a.ref) as session:
        entry = session.scalar(
            select(Activity).where(Activity.contact_id == contact_id, Activity.kind == "call")
        )
        assert entry.occurred_at == datetime(2031, 2, 1, 5, 30, tzinfo=UTC)


def _deal_moved_to_lost(fixture) -> uuid.UUID:
    with tenant_session(fixture.ref) as session:
        stages = default_pipeline(session).stages
        deal = deals.create(session, {"name": "Harbour cranes", "amount": Decimal("900.00")})
        lost = next(stage for stage in stages if stage.kind == "lost")
        deals.move(session, deal.id, lost.id, lost_reason="Budget cut")
        return deal.id


def test_system_entries_read_in_the_readers_language_and_stay_english_for_programs(client, tenant_a):
    deal_id = _deal_moved_to_lost(tenant_a)
    _reader(tenant_a, locale="de")
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/deals/{deal_id}")
    assert "Deal eröffnet: Harbour cranes" in page.text
    assert "Deal verloren: Harbour cranes" in page.text and "Grund: Budget cut" in page.text
    assert "Deal lost: Harbour cranes" not in page.text

    _reader(tenant_a, locale="ru")
    page = client.get(f"/t/{tenant_a.slug}/deals/{deal_id}")
    assert "Сделка проиграна: Harbour cranes" in page.text

    entries = client.get(
        "/api/v1/activities", query_string={"subject_type": "deal", "subject_id": str(deal_id)},
        headers={**bearer(make_token(tenant_a)), "Accept-Language": "de"},
    ).json["data"]  # fmt: skip
    subjects = {entry["subject"] for entry in entries}
    assert {"Deal opened: Harbour cranes", "Deal lost: Harbour cranes"} <= subjects
    assert any("Reason: Budget cut" in (entry["body"] or "") for entry in entries)


def test_a_stored_phrase_translates_its_workspace_values_and_survives_a_bad_translation(app_ctx):
    stored = Phrase("In stage %(stage)s (%(probability)s%%), %(amount)s.", {"stage": "Prospecting",
                    "probability": 10, "amount": "EUR 5"}, ("stage",)).stored()  # fmt: skip
    with in_locale("en"):
        assert shown_phrase(stored, "kept") == "In stage Prospecting (10%), EUR 5."
    with in_locale("de"):
        shown = shown_phrase(stored, "kept")
        assert shown.startswith("In der Phase ") and "Prospecting" not in shown  # the seeded stage too
    broken = {"message": "Deal moved: %(deal)s", "values": {}}  # a value the message needs is missing
    with in_locale("de"):
        assert shown_phrase(broken, "Deal moved: X") == "Deal moved: X"
    assert shown_phrase(None, "as stored") == "as stored"
