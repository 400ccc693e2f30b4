"""The workflows, website, notifications, billing and task pages, and a record's system timeline entries, in
the pseudo-locale: no visible text outside the translation layer (see test_pseudo_locale for the method)."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from saas.db import tenant_session
from saas.modules.core import services
from saas.modules.sfa.deals import deals
from saas.modules.sfa.pipelines import default_pipeline
from saas.modules.sfa.tasks import tasks
from saas.modules.workflows.workflows import create_workflow
from tests.conftest import login
from tests.i18n.test_pseudo_locale import page_leaks, pseudo_locale, pseudo_pages  # noqa: F401


def test_automation_billing_and_task_pages_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    with tenant_session(tenant_a.ref) as session:
        contact = services.contacts.create(session, {"first_name": "Pia", "email": "pia@example.com"})
        deal = deals.create(
            session, {"name": "Cranes", "amount": Decimal("10.00"), "contact_ids": [contact.id]}
        )
        won = next(stage for stage in default_pipeline(session).stages if stage.kind == "won")
        deals.move(session, deal.id, won.id)
        task = tasks.create(session, {"title": "Call Pia", "contact_id": contact.id, "deal_id": deal.id})
        tasks.update(session, task.id, {"status": "done"})
        workflow = create_workflow(
            session,
            {
                "name": "Welcome",
                "enabled": True,
                "trigger": {"type": "record_created", "record_type": "contacts"},
                "steps": [{"type": "create_task", "title": "Say hello"}],
            },
            user_id=None,
            base_url="http://localhost/",
        )
        ids = {"contact": contact.id, "deal": deal.id, "task": task.id, "workflow": workflow.id}
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    pages = pseudo_pages(
        client,
        {
            "workflows": f"{base}/workflows",
            "new workflow": f"{base}/workflows/new",
            "workflow": f"{base}/workflows/{ids['workflow']}",
            "website settings": f"{base}/website/settings",
            "notifications": f"{base}/notifications",
            "billing": f"{base}/settings/billing",
            "new task": f"{base}/tasks/new",
            "task": f"{base}/tasks/{ids['task']}",
            "deal (its timeline)": f"{base}/deals/{ids['deal']}",
            "contact (its timeline)": f"{base}/contacts/{ids['contact']}",
        },
    )
    data = {
        tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "Pia", "pia@example.com", "Cranes", "Call Pia",
        "Welcome", "Say hello", "EUR", "UTC",
        "pricing",  # a path typed as an example ("/pricing"), the same in every language
    }  # fmt: skip
    # The website's tracking snippet and the call that reports consent are code to copy, shown as written.
    code = re.findall(
        r"<textarea[^>]*readonly>(.*?)</textarea>|<code>(.*?)</code>", pages["website settings"], re.S
    )
    snippets = {html.unescape(piece) for pair in code for piece in pair if piece}
    leaks = {name: page_leaks(text, data | snippets) for name, text in pages.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
