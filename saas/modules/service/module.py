"""Registration of the service module: tickets with SLAs, queues, knowledge base, and the customer hub's
tickets and help articles."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from saas.i18n import N_
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    RECIPIENT_EMAIL_DELIVERY,
    SUBJECT_CONTACTS,
    HubSection,
    Module,
    NavEntry,
    ProcessingActivity,
    RecordType,
    SettingsPage,
)
from saas.modules.service import overview, privacy


def seed_service(session: Session) -> None:
    from saas.modules.service.queues import seed_queue
    from saas.modules.service.sla import seed_sla

    seed_sla(session)
    seed_queue(session)


def _ticket_parts():
    from saas.modules.service.schemas import TicketListQuery
    from saas.modules.service.tickets import tickets

    return tickets, TicketListQuery


def _pages():
    from saas.modules.service import views  # noqa: F401  (attaches the routes)
    from saas.modules.service.blueprints import pages

    return pages


def _api():
    from saas.modules.service import api as routes  # noqa: F401  (attaches the routes)
    from saas.modules.service.blueprints import api

    return api


def _hub_tickets(session: Session, contact_id: uuid.UUID | None) -> dict:
    from saas.modules.service.portal import tickets_section

    return tickets_section(session, contact_id)


def _hub_knowledge_base(session: Session, contact_id: uuid.UUID | None) -> dict:
    from saas.modules.service.portal import knowledge_base_section

    return knowledge_base_section(session, contact_id)


def _public():
    from saas.modules.service import portal as routes  # noqa: F401  (attaches the routes)
    from saas.modules.service.blueprints import portal

    return portal


def _ticket_value_labels(field: str) -> dict[str, str]:
    from saas.modules.service.views.tickets import _status_names

    return _status_names() if field == "status" else {}


MODULE = Module(
    key="service",
    title=N_("Service"),
    models="saas.modules.service.models",
    seed=seed_service,
    personal_data=privacy.personal_data,
    erase_person=privacy.erase_person,
    retention_keep=privacy.retention_keep,
    search=overview.search,
    record_types=(
        RecordType(
            "tickets",
            N_("Ticket"),
            N_("Tickets"),
            "service.show_ticket",
            id_arg="ticket_id",
            service=lambda: _ticket_parts()[0],
            list_query=lambda: _ticket_parts()[1](),
            value_labels=_ticket_value_labels,
        ),
    ),
    dashboard=overview.dashboard,
    pages=_pages,
    api=_api,
    public=_public,
    hub_sections=(
        HubSection("tickets", N_("My tickets"), "service/portal/hub_tickets.html", _hub_tickets, order=10),
        HubSection(
            "kb",
            N_("Help articles"),
            "service/portal/hub_kb.html",
            _hub_knowledge_base,
            signed_out=True,
            order=20,
        ),
    ),
    settings=(
        SettingsPage(
            N_("Service"),
            "service.settings",
            N_("SLA targets, business hours and holidays, queues, inbound mail."),
        ),
    ),
    actions=(
        NavEntry(N_("New ticket"), "service.new_ticket"),
        NavEntry(N_("New article"), "service.new_article"),
    ),
    nav=(
        NavEntry(N_("Tickets"), "service.list_tickets", group="service"),
        NavEntry(N_("Service overview"), "service.dashboard", group="service"),
        NavEntry(N_("Knowledge base"), "service.list_articles", group="service"),
    ),
    processing=(
        ProcessingActivity(
            N_("Customer service"),
            N_("Answering customers' tickets and questions."),
            (SUBJECT_CONTACTS,),
            (CATEGORY_CONTACT_DETAILS, N_("Tickets and their messages")),
            recipients=(RECIPIENT_EMAIL_DELIVERY,),
        ),
    ),
)

# Breaches are marked every minute; the same run mails replies a failed job left behind.
register_periodic(PeriodicJob("saas.modules.service.sla.mark_all_breaches", interval=60))
