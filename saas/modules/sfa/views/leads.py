"""Lead pages under /t/<slug>/leads: core's record pages (list, new, detail, edit, delete) and convert."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext

from saas.auth.services import workspace_members
from saas.db import db
from saas.errors import SaasError, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Account, Contact
from saas.modules.core.views.columns import TIMESTAMP_COLUMNS, ListColumn, phone_column
from saas.modules.core.views.records import (
    PHONE_FIELD,
    FormField,
    RecordPages,
    RecordWords,
    load_form,
    register_record_pages,
    render_detail,
)
from saas.modules.sfa import conversion
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.lead_schemas import ConvertIn, LeadFilters, LeadIn
from saas.modules.sfa.leads import leads
from saas.modules.sfa.models import Deal, Lead
from saas.modules.sfa.statuses import lead_status_labels
from saas.tenants.routing import current_tenant_session


def lead_status_label(lead: Lead) -> str:
    return lead_status_labels().get(lead.status, lead.status)


def _status_choices() -> list[tuple[str, str]]:
    only_by_converting = {"converted": gettext("Converted (by converting only)")}
    return list((lead_status_labels() | only_by_converting).items())


@pages.context_processor
def _lead_status_choices() -> dict[str, Any]:
    return {"lead_status_choices": lambda: list(lead_status_labels().items())}


def _owner_choices() -> list[tuple[Any, str]]:
    me = g.membership.user_id
    members = [
        (user_id, gettext("%(email)s (you)", email=email) if user_id == me else email)
        for user_id, email in workspace_members(db.session, g.tenant.id)
    ]
    # The signed-in member comes first, so a new lead's owner defaults to its creator.
    members.sort(key=lambda choice: choice[0] != me)
    return [*members, ("", gettext("— unassigned —"))]


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


def _score(lead: Lead) -> str:
    """The predicted chance where the workspace has a model, else the rule points (scoring.py)."""
    if lead.predicted_score is not None:
        return f"{lead.predicted_score}%"
    return "" if lead.rule_score is None else gettext("%(points)d points", points=lead.rule_score)


def _predicted(lead: Lead) -> int | None:
    return lead.predicted_score


def _lead_name(lead: Any) -> str:
    return " ".join(part for part in (lead.first_name, lead.last_name) if part)


LEAD_PAGES = RecordPages(
    service=leads,
    schema_in=LeadIn,
    singular="lead",
    plural="leads",
    fields=(
        FormField("first_name", N_("First name")),
        FormField("last_name", N_("Last name")),
        FormField("email", N_("Email"), "email"),
        PHONE_FIELD,
        FormField("company", N_("Company")),
        FormField("title", N_("Job title")),
        FormField("status", N_("Status"), "select", choices=_status_choices, show=lead_status_label),
        FormField("source", N_("Source")),
        FormField("owner_user_id", N_("Owner"), "select", choices=_owner_choices, show=_owner_email),
        FormField("disqualified_reason", N_("Reason if disqualified")),
        FormField("notes", N_("Notes"), "textarea"),
    ),
    columns=(
        ListColumn(N_("Name"), _lead_name, "name", "name"),
        ListColumn(N_("Company"), lambda lead: lead.company, "company", "company"),
        ListColumn(N_("Email"), lambda lead: lead.email, "email", "email"),
        ListColumn(N_("Status"), lead_status_label, "status", "status"),
        ListColumn(N_("Source"), lambda lead: lead.source, "source", "source"),
        ListColumn(N_("Score"), _score, "score", "score"),
        ListColumn(N_("Rule points"), lambda lead: lead.rule_score, "rule_score", "rule_score", shown=False),
        ListColumn(N_("Predicted chance"), _predicted, "predicted_score", "predicted_score", shown=False),
        phone_column(),
        ListColumn(N_("Owner"), _owner_email, "owner", shown=False),
        *TIMESTAMP_COLUMNS,
    ),
    blueprint="sfa",
    filters=LeadFilters,
    list_template="sfa/leads_list.html",
    detail_template="sfa/lead_detail.html",
    detail_context=_conversion_links,
    words=RecordWords(
        N_("Lead"),
        N_("Leads"),
        N_("New lead"),
        N_("Edit lead"),
        N_("Delete lead"),
        N_("Delete this lead?"),
        N_("Search leads"),
        N_("No leads yet."),
        N_("No leads match “%(query)s”."),
        N_("Lead saved."),
        N_("Lead deleted."),
        N_("Another lead looks like the same one"),
    ),
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
        data = load_form(ConvertIn(), _convert_form(), gettext("Please correct the deal's fields."))
        result = conversion.convert_lead(session, record_id, deal=data["deal"])
    except SaasError as error:  # not qualified, converted already, a bad deal amount...
        session.rollback()  # nothing of a half-done conversion may show on the page
        errors = _flatten(error.errors) if isinstance(error, ValidationError) else {}
        # The lead's whole page (properties, timeline), with the conversion's messages.
        return render_detail(
            LEAD_PAGES, lead, status=error.status, message=error.detail, errors=errors, form=request.form
        )
    flash(_converted_message(result))
    return redirect(url_for("core.show_contacts", record_id=result.contact.id))


def _converted_message(result: conversion.Conversion) -> str:
    """One whole sentence per outcome: pieces glued together do not translate."""
    contact = (
        gettext("Lead converted: contact created.")
        if result.contact_created
        else gettext("Lead converted: contact linked to an existing one.")
    )
    parts = [contact]
    if result.account:
        parts.append(gettext("Account: %(name)s.", name=result.account.name))
    if result.deal:
        parts.append(gettext("Deal: %(name)s.", name=result.deal.name))
    return " ".join(parts)
