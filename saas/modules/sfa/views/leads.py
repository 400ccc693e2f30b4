"""Lead pages under /t/<slug>/leads: core's record pages (list, new, detail, edit, delete) and convert."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import SaasError, ValidationError
from saas.modules.core.models import Account, Contact
from saas.modules.core.views import PHONE_FIELD, FormField, RecordPages, load_form, register_record_pages
from saas.modules.core.views_columns import TIMESTAMP_COLUMNS, ListColumn, phone_column
from saas.modules.sfa import conversion
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.lead_schemas import ConvertIn, LeadFilters, LeadIn
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import LEAD_STATUSES, Deal, Lead
from saas.tenants.routing import current_tenant_session

STATUS_LABELS = {status: status.capitalize() for status in LEAD_STATUSES} | {
    "converted": "Converted (by converting only)"
}


def _status_choices() -> list[tuple[str, str]]:
    return list(STATUS_LABELS.items())


@pages.context_processor
def _lead_status_choices() -> dict[str, Any]:
    return {"lead_status_choices": [(status, status.capitalize()) for status in LEAD_STATUSES]}


def _owner_choices() -> list[tuple[Any, str]]:
    me = g.membership.user_id
    members = [
        (user_id, f"{email} (you)" if user_id == me else email)
        for user_id, email in workspace_members(db.session, g.tenant.id)
    ]
    # The signed-in member comes first, so a new lead's owner defaults to its creator.
    members.sort(key=lambda choice: choice[0] != me)
    return [*members, ("", "— unassigned —")]


def _owner_email(lead: Lead) -> str | None:
    return (
        dict(workspace_members(db.session, g.tenant.id)).get(lead.owner_user_id)
        if lead.owner_user_id
        else None
    )


def _conversion_links(lead: Lead) -> dict[str, Any]:
    session = current_tenant_session()
    linked = {
        "contact": lead.converted_contact_id and session.get(Contact, lead.converted_contact_id),
        "account": lead.converted_account_id and session.get(Account, lead.converted_account_id),
        "deal": lead.converted_deal_id and session.get(Deal, lead.converted_deal_id),
    }
    return {"converted": linked, "deal_endpoint": _endpoint_if_any("sfa.show_deals")}


def _endpoint_if_any(endpoint: str) -> str | None:
    # Deal pages are another part of this module; link to them once they exist.
    from flask import current_app

    return endpoint if endpoint in current_app.view_functions else None


def _lead_name(lead: Any) -> str:
    return " ".join(part for part in (lead.first_name, lead.last_name) if part)


LEAD_PAGES = RecordPages(
    service=leads,
    schema_in=LeadIn,
    singular="lead",
    plural="leads",
    fields=(
        FormField("first_name", "First name"),
        FormField("last_name", "Last name"),
        FormField("email", "Email", "email"),
        PHONE_FIELD,
        FormField("company", "Company"),
        FormField("title", "Job title"),
        FormField(
            "status", "Status", "select", choices=_status_choices, show=lambda lead: lead.status.capitalize()
        ),
        FormField("source", "Source"),
        FormField("owner_user_id", "Owner", "select", choices=_owner_choices, show=_owner_email),
        FormField("disqualified_reason", "Reason if disqualified"),
        FormField("notes", "Notes", "textarea"),
    ),
    columns=(
        ListColumn("Name", _lead_name, "name", "name"),
        ListColumn("Company", lambda lead: lead.company, "company", "company"),
        ListColumn("Email", lambda lead: lead.email, "email", "email"),
        ListColumn("Status", lambda lead: lead.status.capitalize(), "status", "status"),
        ListColumn("Source", lambda lead: lead.source, "source", "source"),
        phone_column(),
        ListColumn("Owner", _owner_email, "owner", shown=False),
        *TIMESTAMP_COLUMNS,
    ),
    blueprint="sfa",
    filters=LeadFilters,
    list_template="sfa/leads_list.html",
    detail_template="sfa/lead_detail.html",
    detail_context=_conversion_links,
)

register_record_pages(pages, LEAD_PAGES)


def _convert_form() -> dict[str, Any]:
    if request.form.get("create_deal") != "1":
        return {}
    return {
        "deal": {
            "name": request.form.get("deal_name", ""),
            "amount": request.form.get("deal_amount", ""),
            "currency": request.form.get("deal_currency", ""),
        }
    }


def _flatten(messages: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """``{"deal": {"amount": [...]}}`` as ``{"deal_amount": [...]}``: the names of the form's inputs."""
    flat: dict[str, list[str]] = {}
    for name, value in messages.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{name}_")
        else:
            flat[f"{prefix}{name}"] = value if isinstance(value, list) else [str(value)]
    return flat


@pages.route("/leads/<uuid:record_id>/convert", methods=["POST"])
def convert_lead(record_id: uuid.UUID):
    session = current_tenant_session()
    lead = leads.get(session, record_id)
    try:
        data = load_form(ConvertIn(), _convert_form(), "Please correct the deal's fields.")
        result = conversion.convert_lead(session, record_id, deal=data["deal"])
    except SaasError as error:  # not qualified, converted already, a bad deal amount...
        session.rollback()  # nothing of a half-done conversion may show on the page
        errors = _flatten(error.errors) if isinstance(error, ValidationError) else {}
        return render_template(
            LEAD_PAGES.detail_template, pages=LEAD_PAGES, record=lead, message=error.detail, errors=errors,
            form=request.form, **_conversion_links(lead),
        ), error.status  # fmt: skip
    flash(
        f"Lead converted: contact {'created' if result.contact_created else 'linked to an existing one'}"
        + (f", account {result.account.name}" if result.account else "")
        + (f", deal {result.deal.name}" if result.deal else "")
        + "."
    )
    return redirect(url_for("core.show_contacts", record_id=result.contact.id))
