"""Report fields are named in the reader's language: the built-in record types' fields, named from their
columns, are all in the catalogs, and the reports page shows them translated."""

from __future__ import annotations

from saas.modules.core import reports
from saas.modules.registry import registry
from tests.conftest import login


def test_every_built_in_report_field_has_a_label_in_the_catalogs():
    registry.load_models()
    named = {
        label
        for module in registry
        for record_type in module.record_types
        for fields in reports.fields_among(record_type.table, [])
        for label in fields.values()
    }
    assert named - set(reports.FIELD_LABELS) == set()


def test_the_reports_page_names_fields_in_the_readers_language(client, tenant_a):
    login(client, tenant_a.email, tenant_a.password)
    page = client.get(f"/t/{tenant_a.slug}/reports?entity=deals", headers={"Accept-Language": "de"}).text
    assert ">Phase</option>" in page and ">Betrag</option>" in page  # stage, amount
    assert ">stage</option>" not in page and ">Stage</option>" not in page
