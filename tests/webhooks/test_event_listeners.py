"""Modules hear every event in the emitting transaction, with what an update changed (workflows and
notifications build on this): a listener sees each changed field's before and after, and nothing for
fields set to what they were."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from saas.db import tenant_session
from saas.modules.core.services import contacts
from saas.modules.registry import registry


@pytest.fixture
def heard(monkeypatch):
    """Every event core's listeners are told of, while the test runs (a listener plugged into the
    registry as a module declares one)."""
    events: list[tuple[str, dict, dict]] = []

    def listen(session, event, payload, changes) -> None:
        events.append((event, payload, changes))
        session.execute(text("SELECT 1"))  # inside the emitting session's transaction

    modules = registry._discover()
    monkeypatch.setitem(modules, "core", replace(modules["core"], event_listeners=(listen,)))
    return events


def test_a_listener_hears_an_update_with_each_changed_field_before_and_after(tenant_a, heard):
    with tenant_session(tenant_a.ref) as session:
        contact = contacts.create(
            session, {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}
        )
        contacts.update(session, contact.id, {"first_name": "Anna", "last_name": "Lee"})
        session.commit()
    events = [(event, changes) for event, _, changes in heard]
    assert events == [("contact.created", {}), ("contact.updated", {"first_name": ("Ann", "Anna")})]
    assert heard[1][1]["first_name"] == "Anna"
