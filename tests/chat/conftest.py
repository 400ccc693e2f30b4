"""Chat fixtures: business hours that make the widget online (every minute of every day) or offline
(today and its neighbours are holidays), chats started through the widget's own routes, and the
generous rate limits every test but the limits' own needs (the test client has one address)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from saas.db import tenant_session
from saas.modules.service import sla
from tests.conftest import TenantFixture

LIMITS = ("CHAT_START_RATE_LIMIT", "CHAT_WRITE_RATE_LIMIT", "CHAT_READ_RATE_LIMIT", "CHAT_EMAIL_RATE_LIMIT")


@pytest.fixture(autouse=True)
def generous_rate_limits(app, monkeypatch):
    for name in LIMITS:
        monkeypatch.setitem(app.config, name, "10000 per minute")


def always_open(fixture: TenantFixture) -> None:
    with tenant_session(fixture.ref) as session:
        sla.update_calendar(
            session,
            {"timezone": "UTC", "work_days": [1, 2, 3, 4, 5, 6, 7], "start_minute": 0, "end_minute": 1440},
        )


def closed_for_now(fixture: TenantFixture) -> None:
    """Holidays from yesterday to tomorrow (UTC): closed now whatever the hour, even across midnight."""
    today = datetime.now(UTC).date()
    with tenant_session(fixture.ref) as session:
        sla.update_calendar(session, {"timezone": "UTC"})
        for offset in (-1, 0, 1):
            sla.add_holiday(session, today + timedelta(days=offset), "Closed")


def start_chat(client: FlaskClient, slug: str, body: str = "Hello?", **fields) -> dict:
    response = client.post(f"/chat/{slug}/chats", json={"body": body, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def token_header(chat: dict) -> dict[str, str]:
    return {"X-Chat-Token": chat["token"]}
