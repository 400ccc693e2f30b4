"""The records of processing (owners and admins): a page to read and print, and the same as a CSV."""

from __future__ import annotations

from flask import Response, g, render_template
from flask_babel import gettext as _

from saas.db import db
from saas.modules.privacy.blueprints import pages
from saas.modules.privacy.processing_record import ProcessingRecord, processing_record
from saas.modules.switches import enabled_module_keys
from saas.spreadsheet import csv_line
from saas.tenants.routing import current_tenant_session


def _record() -> ProcessingRecord:
    return processing_record(current_tenant_session(), enabled_module_keys(db.session, g.tenant.id))


@pages.get("/privacy/records-of-processing")
def processing_record_page():
    return render_template("privacy/processing_record.html", record=_record())


@pages.get("/privacy/records-of-processing.csv")
def processing_record_csv():
    record = _record()
    header = [_("Controller"), _("Where the data lives"), _("Module"), _("Processing activity"), _("Purpose"),
              _("Data subjects"), _("Personal data"), _("Legal basis"), _("Recipients"), _("Retention"),
              _("Transfers outside the region")]  # fmt: skip
    region = f"{record.region_label} ({record.region_code})"
    lines = [csv_line(header)]
    for entry in record.activities:
        lines.append(csv_line([record.controller, region, entry.module, entry.name, entry.purpose,
                               "; ".join(entry.data_subjects), "; ".join(entry.data_categories),
                               entry.legal_basis, "; ".join(entry.recipients) or _("None"), entry.retention,
                               entry.transfers]))  # fmt: skip
    disposition = "attachment; filename=records-of-processing.csv"
    return Response("".join(lines), mimetype="text/csv", headers={"Content-Disposition": disposition})
