"""Issue 24's journey: a company signs up by uploading an archive exported from another workspace, follows
the import live, and finds its data, custom fields and pipelines as they were, with its team invited."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from saas.auth.services import add_member
from saas.db import db, tenant_session
from saas.exports.services import export_tenant_to_file
from saas.jobs import make_worker
from saas.modules.core import custom_fields, services
from saas.modules.sfa import pipelines
from tests.conftest import PASSWORD
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback
from tests.mailsink import mail_sink  # noqa: F401 - the SMTP sink fixture


def _source_workspace(make_tenant, tmp_path) -> tuple[str, str]:
    """The workspace the company leaves: a contact with a custom field, its own pipeline and a colleague;
    returns the archive's path and the colleague's email."""
    source = make_tenant("leaving")
    with tenant_session(source.ref) as session:
        custom_fields.define_field(
            session, "contacts", {"key": "shirt_size", "label": "Shirt size", "field_type": "text"}
        )
        contact = services.contacts.create(
            session, {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example"}
        )
        custom_fields.write_values(session, "contacts", contact.id, {"shirt_size": "XL"}, creating=False)
        pipelines.create_pipeline(
            session,
            {
                "name": "Partnerships",
                "stages": [
                    {"name": "Intro call", "probability": 10, "kind": "open"},
                    {"name": "Signed", "probability": 100, "kind": "won"},
                    {"name": "Parted", "probability": 0, "kind": "lost"},
                ],
            },
        )
        session.commit()
    colleague = f"grace-{uuid.uuid4().hex[:6]}@engines.example"
    add_member(db.session, source.tenant.id, colleague, PASSWORD, "admin", actor="e2e")
    db.session.commit()
    path = tmp_path / "leaving.zip"
    with open(path, "wb") as target:
        export_tenant_to_file(source.tenant, target)
    return str(path), colleague


def test_a_company_signs_up_from_its_archive_and_finds_everything(
    page: Page,
    app,
    make_tenant,
    monkeypatch,
    mail_sink,  # noqa: F811
    s3,  # noqa: F811
    tmp_path,
):
    archive, colleague = _source_workspace(make_tenant, tmp_path)
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "100 per hour")

    page.goto("/signup")
    page.get_by_label("Company name").fill("Analytical Engines")
    email = f"founder-{uuid.uuid4().hex[:6]}@engines.example"
    page.get_by_label("Your work email").fill(email)
    page.get_by_label("I accept the terms").check()
    page.get_by_role("button", name="Email me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")
    with app.app_context():
        make_worker().work(burst=True)
    [message] = mail_sink.to(email)
    page.goto(re.search(r"https?://\S+/signup/confirm/\S+", message.get_content()).group(0))

    # The mailed link: a password, and the archive to start from.
    page.get_by_label("Choose your password").fill(PASSWORD)
    page.get_by_label("Start from an archive (optional)").set_input_files(archive)
    page.get_by_role("button", name="Create my workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Creating your workspace from an archive")
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "queued")

    with app.app_context():
        make_worker().work(burst=True)  # the import job; the page follows it and reloads once done
    expect(page.locator("[data-import-status]")).to_have_attribute(
        "data-import-status", "done", timeout=15_000
    )
    expect(page).to_have_url(re.compile(r"/t/analytical-engines[\w-]*/settings/restore/"))
    expect(page.locator("#secrets-to-reenter")).to_be_visible()
    slug = re.search(r"/t/([\w-]+)/", page.url).group(1)

    # Its data and custom fields, as they were.
    page.goto(f"/t/{slug}/contacts")
    page.get_by_role("link", name=re.compile("Lovelace")).first.click()
    expect(page.get_by_role("main")).to_contain_text("Shirt size")
    expect(page.get_by_role("main")).to_contain_text("XL")
    # Its pipelines.
    page.goto(f"/t/{slug}/settings/pipelines")
    expect(page.get_by_role("main")).to_contain_text("Partnerships")
    expect(page.locator('input[value="Intro call"]')).to_be_visible()  # stages are edited in place
    # Its team: invited, not signed in.
    page.goto(f"/t/{slug}/settings/members")
    expect(page.get_by_role("main")).to_contain_text(colleague)
