"""The webhook delivery log copies people's records: it is part of their data and of their erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saas.db import tenant_session
from saas.modules.core import services as core
from saas.modules.registry import DataSubject, registry
from saas.webhooks import services
from saas.webhooks.models import WebhookDelivery
from saas.webhooks.privacy import LOG_DAYS, purge_old_deliveries


def test_deliveries_naming_a_person_are_shown_and_erased(app_ctx, tenant_a, tenant_b, receiver):
    module = registry.get("integrations")
    for fixture in (tenant_a, tenant_b):
        with tenant_session(fixture.ref) as session:
            services.create_subscription(session, receiver.url, ["contact.created"])
            ann = core.contacts.create(session, {"last_name": "Ann", "email": "ann@example.com"})
            core.contacts.create(session, {"last_name": "Bob", "email": "bob@example.com"})
    subject = DataSubject(contact_id=ann.id, email="ann@example.com")  # Ann of tenant B
    with tenant_session(tenant_b.ref) as session:
        held = module.personal_data(session, subject)["webhook_deliveries"]
        assert [d["payload"]["email"] for d in held] == ["ann@example.com"]
        assert module.erase_person(session, subject) == {"webhook_deliveries": 1}
    with tenant_session(tenant_b.ref) as session:
        assert [d.payload["email"] for d in session.query(WebhookDelivery)] == ["bob@example.com"]
        assert module.personal_data(session, subject) == {"webhook_deliveries": []}
    with tenant_session(tenant_a.ref) as session:  # tenant A's log is its own business
        assert session.query(WebhookDelivery).count() == 2


def test_finished_log_entries_are_purged_after_their_keeping_time(app_ctx, tenant_a, receiver):
    with tenant_session(tenant_a.ref) as session:
        services.create_subscription(session, receiver.url, ["contact.created"])
        core.contacts.create(session, {"last_name": "Old"})
        session.query(WebhookDelivery).update({"status": "succeeded"})
    later = datetime.now(UTC) + timedelta(days=LOG_DAYS + 1)
    with tenant_session(tenant_a.ref) as session:
        assert purge_old_deliveries(session) == 0
        assert purge_old_deliveries(session, now=later) == 1
