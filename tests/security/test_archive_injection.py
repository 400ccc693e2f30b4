"""Issue 17 (a): identifiers from an imported archive never reach SQL unquoted or unchecked.

A custom field row names a column that reports put into SQL text; an archive with valid checksums once
loaded such a row unchecked and put ``platform.users`` emails on the new owner's dashboard.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from saas.db import db, tenant_session
from saas.errors import ValidationError
from saas.exports.services import import_tenant
from saas.modules.core import custom_fields, reports, saved_reports, saved_views, services
from saas.modules.core.models import CustomField, SavedReport, SavedView
from saas.sql import UnsafeIdentifier, qualified_column, quote_identifier
from saas.tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.security.archives import csv_field, export, rewrite_with_checksums

# The review's payload, cut to the 63 characters a column_name holds.
CRAFTED = 'email"||(select max(email)from platform.users)||"email'
# The same trick with a literal, so that the report test does not depend on the tenant role's grants.
INJECTED = "email\"||(select 'INJECTED')||\"email"


def _in_json_in_csv(value: str) -> bytes:
    """``value`` as it appears inside a JSON string inside a quoted CSV field."""
    return json.dumps(value)[1:-1].replace('"', '""').encode()


@pytest.fixture
def clean_archive(tenant_a, tmp_path):
    """A real export whose custom field ``cf_region`` is named by a saved report and a saved view."""
    with tenant_session(tenant_a.ref) as session:
        region = {"key": "region", "label": "Region", "field_type": "text"}
        custom_fields.define_field(session, "contacts", region)
        services.contacts.create(session, {"last_name": "Lee", "email": "lee@example.com"})
        saved_reports.create(
            session, uuid.uuid4(), "By region", {"entity": "contacts", "group_by": "cf_region"}
        )
        view = {"entity": "contacts", "name": "By region", "query": {"sort": "cf_region"}}
        saved_views.create(session, uuid.uuid4(), view)
    path = tmp_path / "clean.zip"
    export(tenant_a, path)
    return path


def _import(path):
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    admin = f"{slug}@example.com"
    return slug, lambda: import_tenant(
        str(path), slug=slug, name="Imported", admin_email=admin, admin_password=PASSWORD, actor="test"
    )


def _schemas() -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")).scalar()


EDITS = {
    "custom field": {
        "data/custom_fields.csv": lambda data: data.replace(b",cf_region,", b"," + csv_field(CRAFTED) + b",")
    },
    "saved report": {
        "data/saved_reports.csv": lambda data: data.replace(b"cf_region", _in_json_in_csv(CRAFTED))
    },
    "saved view": {"data/saved_views.csv": lambda data: data.replace(b"cf_region", _in_json_in_csv(CRAFTED))},
}


@pytest.mark.parametrize("crafted", [*EDITS, "custom field and saved report"])
def test_archive_naming_a_crafted_column_is_refused_per_row_and_nothing_is_written(
    clean_archive, tmp_path, crafted
):
    edits = EDITS[crafted] if crafted in EDITS else {**EDITS["custom field"], **EDITS["saved report"]}
    rewrite_with_checksums(clean_archive, tmp_path / "crafted.zip", edits)
    before = _schemas()
    slug, run_import = _import(tmp_path / "crafted.zip")

    with pytest.raises(ValidationError) as refused:
        run_import()

    # Each edited row is named with its reason (a refused field also fails the view and report naming it).
    assert {f"{name} line 2" for name in edits} <= set(refused.value.errors), refused.value.errors
    assert refused.value.detail.startswith("The archive holds definitions the application would refuse")
    assert _schemas() == before
    assert db.session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)) == 0


def test_clean_archive_with_custom_field_views_and_reports_still_imports(clean_archive):
    result = _import(clean_archive)[1]()
    with tenant_session(result.tenant.ref) as session:
        views = session.scalars(select(SavedView.query)).all()
        rows = reports.run_report(session, "contacts", "cf_region")
    assert views == [{"sort": "cf_region"}]
    assert [(row.group, row.value) for row in rows] == [(None, 1)]


def test_custom_field_with_a_bad_type_or_key_in_an_archive_is_refused_with_its_reason(
    clean_archive, tmp_path
):
    edits = {
        "data/custom_fields.csv": lambda data: data.replace(b",cf_region,Region,text,", b",cf_region,R,blob,")
    }
    rewrite_with_checksums(clean_archive, tmp_path / "type.zip", edits)
    _, run_import = _import(tmp_path / "type.zip")
    with pytest.raises(ValidationError) as refused:
        run_import()
    assert "Unknown type" in refused.value.errors["data/custom_fields.csv line 2"][0]


def test_report_builder_never_runs_an_identifier_a_stored_custom_field_names(tenant_a):
    # As an older import left them: a definition and a pinned report no service would have written.
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"last_name": "Lee", "email": "lee@example.com"})
        session.add(CustomField(entity="contacts", column_name=INJECTED, label="Region", field_type="text"))
        params = {"entity": "contacts", "group_by": INJECTED, "measure": "count"}
        session.add(SavedReport(name="Dashboard", params=params, owner_user_id=uuid.uuid4(), pinned=True))

    with tenant_session(tenant_a.ref) as session:
        with pytest.raises(ValidationError) as refused:
            reports.run_report(session, "contacts", INJECTED)
        (card,) = saved_reports.pinned_cards(session)
        groupable, _ = reports.fields_of(session, "contacts")

    assert "group_by" in refused.value.errors
    assert INJECTED not in groupable
    # The dashboard card shows why the report no longer runs, no data of the injected expression.
    assert card.labels == () and card.series == () and card.empty.startswith("This report no longer runs")


def test_a_crafted_name_that_reaches_sql_is_one_quoted_identifier(tenant_a):
    assert quote_identifier('a"b') == '"a""b"'
    for unsafe in ("", "nul\x00", "x" * 64):
        with pytest.raises(UnsafeIdentifier):
            quote_identifier(unsafe)
    with tenant_session(tenant_a.ref) as session:
        services.contacts.create(session, {"last_name": "Lee", "email": "lee@example.com"})
        query = select(qualified_column("contacts", INJECTED)).select_from(text(quote_identifier("contacts")))
        # PostgreSQL looks for one column of that whole name; nothing of it runs as SQL.
        with pytest.raises(ProgrammingError, match="does not exist"):
            session.execute(query)
