"""Issue 20's journey: an admin defines "Vehicle" with a relation to Account, a member creates records,
a list view filters them and is saved, and the export -> import round trip brings them back byte for byte
(the imported workspace's pages list them again)."""

from __future__ import annotations

import base64
import re
import uuid
import zipfile

from playwright.sync_api import Page, expect

from saas.db import db, tenant_session
from saas.exports.services import export_tenant_to_file, import_tenant
from saas.modules.core import services
from tests.conftest import PASSWORD
from tests.e2e.conftest import Browsers, add_rep, sign_in
from tests.exports.conftest import s3, s3_server  # noqa: F401 - moto S3 on loopback

# A real 1x1 PNG: the upload's type is sniffed from its content.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _data_files(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.startswith("data/")}


def _file_contents(path) -> list[bytes]:
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.read(name) for name in archive.namelist() if name.startswith("files/"))


def _define_vehicle(page: Page, slug: str) -> None:
    page.goto(f"/t/{slug}/settings/objects")
    page.get_by_label("Singular name").fill("Vehicle")
    page.get_by_label("Plural name").fill("Vehicles")
    page.get_by_label("Key (lowercase letters and _; never changes)").fill("vehicle")
    page.get_by_label("Label of the primary field").fill("Plate number")
    page.get_by_label("Icon").select_option("car")
    page.get_by_role("button", name="Define object").click()
    expect(page.get_by_role("status")).to_contain_text("Vehicles defined")
    page.get_by_role("link", name="Fields and relations").click()
    for label, key, kind, extra in (
        ("Company", "company", "reference", ("A reference points to", "accounts")),
        ("Fuel", "fuel", "single_select", None),
    ):
        form = page.get_by_role("region", name="Add a field")
        form.get_by_label("On", exact=True).select_option("co_vehicle")
        form.get_by_label("Label", exact=True).fill(label)
        form.get_by_label("Key (lowercase letters, digits and _; never changes)").fill(key)
        form.get_by_label("Type").select_option(kind)
        if extra:
            form.get_by_label(extra[0]).select_option(extra[1])
        else:
            form.get_by_label("Choices of a select (one per line)").fill("petrol\ndiesel\nelectric")
        form.get_by_role("button", name="Add field").click()
        expect(page.get_by_role("status")).to_contain_text(f"Field {label} added")
    expect(page.locator("#cf-co_vehicle")).to_have_text("Vehicles")


def _new_vehicle(page: Page, plate: str, fuel: str, owner: str | None) -> None:
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Vehicles").click()
    page.get_by_role("link", name="New vehicle").click()
    page.get_by_label("Plate number").fill(plate)
    page.get_by_label("Fuel").select_option(fuel)
    if owner:
        company = page.get_by_role("combobox", name="Company", exact=True)  # a type-ahead picker
        company.press_sequentially(owner.split()[0], delay=40)
        page.get_by_role("option", name=re.compile(re.escape(owner))).click()
        expect(company).to_have_value(owner)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Vehicle saved")


def test_an_admin_defines_vehicles_a_member_fills_and_filters_them_and_they_survive_the_round_trip(
    browsers: Browsers,
    tenant_a,
    tmp_path,
    s3,  # noqa: F811 - files are stored in S3 (moto on loopback)
):
    with tenant_session(tenant_a.ref) as session:
        services.accounts.create(session, {"name": "Acme Logistics"})
    admin = browsers.new_page()
    sign_in(admin, tenant_a.email)
    _define_vehicle(admin, tenant_a.slug)

    member = browsers.new_page()
    sign_in(member, add_rep(tenant_a))
    _new_vehicle(member, "B-XY 123", "diesel", "Acme Logistics")
    expect(member.locator("dl.record")).to_contain_text("Acme Logistics")
    # A photo of it, attached on its page.
    member.get_by_label(re.compile("^Attach a file")).set_input_files(
        {"name": "b-xy-123.png", "mimeType": "image/png", "buffer": PHOTO}
    )
    member.get_by_role("button", name="Upload").click()
    expect(member.locator("[data-panel=files]")).to_contain_text("b-xy-123.png")
    _new_vehicle(member, "M-EV 42", "electric", None)
    _new_vehicle(member, "K-PT 7", "petrol", "Acme Logistics")

    # The list filters by a field and is saved as a view; the account's page lists its vehicles.
    member.get_by_role("navigation", name="Main").get_by_role("link", name="Vehicles").click()
    search = member.locator("main").get_by_role("search")
    search.get_by_label("Fuel").select_option("electric")
    search.get_by_role("button", name="Search").click()
    rows = member.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("M-EV 42")
    member.get_by_label("Save this view as").fill("Electric fleet")
    member.get_by_role("button", name="Save this view").click()
    expect(member.get_by_role("status")).to_contain_text("Electric fleet")
    member.get_by_role("navigation", name="Main").get_by_role("link", name="Vehicles").click()
    expect(rows).to_have_count(3)
    member.locator(".saved-views").get_by_role("link", name="Electric fleet").click()
    expect(rows).to_have_count(1)
    member.goto(f"/t/{tenant_a.slug}/accounts")
    member.get_by_role("link", name="Acme Logistics").click()
    related = member.locator(".related-records")
    expect(related).to_contain_text("B-XY 123")
    expect(related).to_contain_text("K-PT 7")

    # Export, import into a new workspace, export again: the same data files, byte for byte.
    first = tmp_path / "a.zip"
    with open(first, "wb") as target:
        export_tenant_to_file(tenant_a.tenant, target)
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    owner = f"{slug}@example.com"
    imported = import_tenant(
        str(first), slug=slug, name="Imported", admin_email=owner, admin_password=PASSWORD, actor="e2e"
    ).tenant
    second = tmp_path / "b.zip"
    with open(second, "wb") as target:
        export_tenant_to_file(imported, target)
    files = _data_files(first)
    assert b"M-EV 42" in files["data/co_vehicle.csv"]
    assert files == _data_files(second)
    assert _file_contents(first) == _file_contents(second) == [PHOTO]  # the photo too, byte for byte
    db.session.commit()
    again = browsers.new_page()
    sign_in(again, owner)
    again.get_by_role("navigation", name="Main").get_by_role("link", name="Vehicles").click()
    for plate in ("B-XY 123", "M-EV 42", "K-PT 7"):
        expect(again.locator("main")).to_contain_text(plate)
