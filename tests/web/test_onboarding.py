"""The onboarding checklist after signup: each step done or not from the workspace's real state, each
linking to the page that does it; owners and admins see it on the dashboard until it is done or hidden."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.modules.core import services
from saas.modules.switches import set_module_enabled
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.tenants.conftest import sign_up
from tests.web.conftest import switch


def steps(html: str) -> dict[str, str]:
    """{step: "done" or "todo"} of the checklist on a page."""
    return {key: state for state, key in re.findall(r'<li class="(done|todo)" data-step="(\w+)">', html)}


def test_a_fresh_signup_lands_on_the_checklist_and_each_step_follows_the_state(
    client, app_ctx, monkeypatch, mail_sink
):
    # A bucket of its own: the signup tests count on the default limit's allowance from 127.0.0.1.
    monkeypatch.setitem(app_ctx.config, "SIGNUP_RATE_LIMIT", "100 per hour")
    email = f"founder-{uuid.uuid4().hex[:6]}@example.com"
    slug = f"check-{uuid.uuid4().hex[:6]}"
    signed_up = sign_up(client, mail_sink, name="Checklist Co", slug=slug, admin_email=email)
    assert signed_up.status_code == 302
    dashboard = client.get(signed_up.headers["Location"])
    assert "Welcome to Checklist Co" in dashboard.text and "Get your workspace ready" in dashboard.text
    slug = signed_up.headers["Location"].split("/")[2]
    # Billing is off in this test app: that step is done; the others are to do, each with its page.
    assert steps(dashboard.text) == {
        "modules": "todo",
        "users": "todo",
        "contacts": "todo",
        "billing": "done",
    }
    assert f'href="/t/{slug}/settings/modules">Choose your modules' in dashboard.text
    assert f'href="/t/{slug}/imports/new">Import your contacts' in dashboard.text

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    set_module_enabled(db.session, tenant.id, "sfa", True, actor="t")  # a choice, even if unchanged
    add_member(
        db.session, tenant.id, f"rep-{uuid.uuid4().hex[:6]}@example.com", PASSWORD, "member", actor="t"
    )
    db.session.commit()
    with tenant_session(tenant.ref) as session:
        services.contacts.create(session, {"first_name": "First", "email": "first@example.com"})
    # All done: the dashboard drops the checklist; the getting-started page still shows every step.
    dashboard = client.get(f"/t/{slug}/")
    assert "Get your workspace ready" not in dashboard.text
    full = client.get(f"/t/{slug}/getting-started")
    assert steps(full.text) == {"modules": "done", "users": "done", "contacts": "done", "billing": "done"}


def test_without_sales_the_import_step_still_links_to_the_csv_import(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    switch(tenant_a, "sfa", False)
    page = client.get(f"/t/{tenant_a.slug}/").text
    assert f'href="/t/{tenant_a.slug}/imports/new">Import your contacts' in page
    assert steps(page)["modules"] == "done"


def test_admins_hide_and_show_the_checklist_members_never_see_it(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    page = client.get(f"{base}/").text
    assert "Get your workspace ready" in page
    hidden = client.post(
        f"{base}/getting-started/visibility", data={"hide": "1", "csrf_token": csrf_token_from(page)}
    )
    assert hidden.status_code == 302
    assert "Get your workspace ready" not in client.get(f"{base}/").text
    again = client.get(f"{base}/getting-started").text
    assert "Show the checklist on the dashboard again" in again
    client.post(f"{base}/getting-started/visibility", data={"csrf_token": csrf_token_from(again)})
    assert "Get your workspace ready" in client.get(f"{base}/").text
    # Without the CSRF token the form is refused.
    assert client.post(f"{base}/getting-started/visibility", data={"hide": "1"}).status_code == 400

    member_email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    add_member(db.session, tenant_a.tenant.id, member_email, PASSWORD, "member", actor="t")
    db.session.commit()
    # A fresh app context: requests in one share `g`, where Flask-Login keeps the signed-in user.
    with client.application.app_context():
        member = client.application.test_client()
        login(member, member_email, PASSWORD)
        page = member.get(f"{base}/").text
    assert "Dashboard" in page and "Get your workspace ready" not in page


def test_another_tenants_checklist_is_out_of_reach(client, tenant_a, tenant_b):
    login(client, tenant_b.email, tenant_b.password)
    page = client.get(f"/t/{tenant_b.slug}/getting-started")
    assert page.status_code == 200
    assert client.get(f"/t/{tenant_a.slug}/getting-started").status_code == 404
    hide = {"hide": "1", "csrf_token": csrf_token_from(page.text)}
    assert client.post(f"/t/{tenant_a.slug}/getting-started/visibility", data=hide).status_code == 404
