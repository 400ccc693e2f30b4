"""The export page (with an export in its list and a schedule) and the audit log in the pseudo-locale: no
visible text outside the translation layer (see test_pseudo_locale for the method)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from sqlalchemy import select

from saas.audit import AuditEntry
from saas.db import db
from saas.exports import services
from saas.exports.models import Export
from tests.conftest import login
from tests.i18n.test_pseudo_locale import HEADERS, page_leaks, pseudo_locale  # noqa: F401


def test_the_export_page_and_the_audit_log_show_no_text_outside_the_translation_layer(
    client,
    tenant_a,
    pseudo_locale,  # noqa: F811
):
    tenant_id = tenant_a.tenant.id
    db.session.add(
        Export(tenant_id=tenant_id, kind="manual", requested_by=tenant_a.email, status="failed", error=None)
    )
    db.session.commit()
    services.set_schedule(tenant_id, frequency="weekly", keep_days=30, enabled=True, actor="test")
    login(client, tenant_a.email, tenant_a.password)
    base = f"/t/{tenant_a.slug}"
    data = {tenant_a.tenant.name, tenant_a.slug, tenant_a.email, "S3_BUCKET", "saas", "export"}
    # The log's entries are data as written (action codes, who, details), and dates are the locale's.
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)):
        data |= {entry.action, entry.actor, entry.target or "", str(entry.ip or "")}
        data |= {f"{key}={value}" for key, value in entry.details.items()}
    data |= {format_date(date.today(), "MMM", locale="en")}  # the month in "7 Dec 2026"

    leaks = {}
    for name, path in {"export": f"{base}/settings/export", "audit log": f"{base}/settings/audit"}.items():
        page = client.get(path, headers=HEADERS)
        assert page.status_code == 200, (name, page.status_code)
        if found := page_leaks(page.text, data):
            leaks[name] = found

    assert leaks == {}
