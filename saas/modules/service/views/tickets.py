"""Ticket pages: the list (views, filters, columns, saved views), a new ticket, the detail page with
replies, edits and macros."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from saas.errors import Conflict, ValidationError
from saas.i18n import N_, format_moment, translate
from saas.modules.core import custom_fields
from saas.modules.core.models import Contact
from saas.modules.core.pagination import Page
from saas.modules.core.saved_views import register_columns
from saas.modules.core.views.columns import (
    TIMESTAMP_COLUMNS,
    ListColumn,
    RecordList,
    columns_of,
    list_arguments,
    prepare_rows,
    sort_link,
)
from saas.modules.core.views.custom_fields import (
    default_form_values,
    form_values,
    list_conditions,
    split_custom_form,
)
from saas.modules.core.views.records import load_form, member_choices, record_panels, workspace_people
from saas.modules.service import macros, queues, sla
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import pages
from saas.modules.service.models import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
)
from saas.modules.service.tickets import (
    ENTITY,
    VIEWS,
    add_staff_message,
    contact_for_email,
    list_history,
    list_messages,
    tickets,
)
from saas.tenants.routing import current_tenant_session


def _status_names() -> dict[str, str]:
    """The ticket statuses as staff read them (the stored values are English keys)."""
    return {
        "new": pgettext("ticket status", "New"),
        "open": pgettext("ticket status", "Open"),
        "pending_customer": pgettext("ticket status", "Pending customer"),
        "solved": pgettext("ticket status", "Solved"),
        "closed": pgettext("ticket status", "Closed"),
    }


def _priority_names() -> dict[str, str]:
    return {
        "low": pgettext("ticket priority", "Low"),
        "normal": pgettext("ticket priority", "Normal"),
        "high": pgettext("ticket priority", "High"),
        "urgent": pgettext("ticket priority", "Urgent"),
    }


def _channel_names() -> dict[str, str]:
    return {
        "email": _("Email"),
        "portal": _("Customer hub"),
        "web_form": _("Web form"),
        "phone": _("Phone"),
        "api": _("API"),
    }


SLA_STATES = {
    "breached": N_("breached"),
    "met": N_("met"),
    "paused": N_("paused"),
    "at risk": N_("at risk"),
    "on track": N_("on track"),
}
"""The one-word SLA states of :func:`sla.sla_state` as lists and the ticket page show them."""


def sla_label(ticket: Any, now: datetime | None = None) -> str:
    return translate(SLA_STATES.get(sla.sla_state(ticket, now), sla.sla_state(ticket, now)))


HISTORY_ACTIONS = {
    "created": N_("Ticket opened"),
    "reply.added": N_("Reply sent"),
    "note.added": N_("Internal note added"),
    "customer_reply.added": N_("Customer replied"),
    "macro.applied": N_("Macro applied"),
    "csat.rated": N_("Customer rated the ticket"),
    "sla.breached": N_("SLA target missed"),
}
"""A ticket's history actions as its page shows them; ``<field>.changed`` is built from the field."""

HISTORY_FIELDS = {
    "subject": N_("Subject"),
    "status": N_("Status"),
    "priority": N_("Priority"),
    "queue_id": N_("Queue"),
    "assignee_user_id": N_("Assignee"),
    "tags": N_("Tags"),
    "channel": N_("Channel"),
    "from": N_("from"),
    "to": N_("to"),
    "target": N_("target"),
    "macro": N_("macro"),
    "rating": N_("rating"),
}
"""Field names in the history (the changed field, the details' keys)."""

MAIL_STATUSES = {
    "pending": N_("mail queued"),
    "sent": N_("mail sent"),
    "failed": N_("mail failed"),
    "skipped": N_("not mailed"),
}
"""A public reply's mail state, shown with ``translate`` beside the reply."""

ACTOR_NAMES = {"user": N_("a member"), "customer": N_("the customer"), "system": N_("the system")}
"""Who acted, when the history names no member."""


def history_rows(events: list[Any]) -> list[dict[str, Any]]:
    """Each history event in the reader's words: what happened and its details, values named
    (statuses, priorities, channels, people) where the product knows them."""
    people = workspace_people()
    queue_names = {str(q.id): q.name for q in queues.list_queues(current_tenant_session())}
    values = {
        **_status_names(), **_priority_names(), **_channel_names(), **queue_names,
        **{str(uid): name for uid, name in people.items()},
        "first_response": _("first response"), "resolution": _("resolution"),
    }  # fmt: skip
    rows = []
    for event in events:
        if event.action.endswith(".changed"):
            field = event.action.removesuffix(".changed")
            label = _("%(field)s changed", field=translate(HISTORY_FIELDS.get(field, field)))
        else:
            label = translate(HISTORY_ACTIONS.get(event.action, event.action))
        details = [
            (
                translate(HISTORY_FIELDS.get(key, key)),
                "—" if value in (None, "") else values.get(str(value), value),
            )
            for key, value in event.details.items()
            if key != "message_id"
        ]
        rows.append({"event": event, "label": label, "details": details})
    return rows


def _ticket_context() -> dict[str, Any]:
    session = current_tenant_session()
    status_names, priority_names = _status_names(), _priority_names()
    return {
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "channels": CHANNELS,
        "queues": queues.list_queues(session),
        "priority_options": [(p, priority_names[p]) for p in PRIORITIES],
        "priority_names": priority_names,
        "channel_options": list(_channel_names().items()),
        "channel_names": _channel_names(),
        "status_options": [(st, status_names[st]) for st in STATUSES],
        "status_names": status_names,
        "queue_options": [(q.id, q.name) for q in queues.list_queues(session)],
        "members": [choice for choice in member_choices() if choice[0] != ""],
        "people": workspace_people(),
        "sla_state": sla_label,
        "mail_statuses": MAIL_STATUSES,
        "actor_names": ACTOR_NAMES,
        "next_due": sla.next_due,
    }


@pages.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_label": lambda status: _status_names().get(status, status),
        "category_options": lambda categories: [(c.id, c.name) for c in categories],
    }


def _minute(value: datetime | None) -> str:
    """A due time in the reader's locale and time zone."""
    return format_moment(value, "short") if value else ""


def _requester(ticket: Any) -> str:
    # ``requester`` is put on each row of the page by list_tickets (one query for the page).
    contact = getattr(ticket, "requester", None)
    return contact.display_name if contact else ""


def _assignee(ticket: Any) -> str:
    return workspace_people().get(ticket.assignee_user_id, "") if ticket.assignee_user_id else _("Unassigned")


def _due_column(label: str, attribute: str) -> ListColumn:
    """An SLA due time, sortable (empty ones last), not shown unless chosen."""

    def value(ticket: Any) -> str:
        return _minute(getattr(ticket, attribute))

    return ListColumn(label, value, attribute, sort=attribute, shown=False)


TICKET_LIST = RecordList(
    service=tickets,
    columns=(
        ListColumn(N_("Subject"), lambda t: t.subject, "subject", sort="subject"),
        ListColumn(N_("Ref"), lambda t: t.reference, "reference"),
        ListColumn(N_("Requester"), _requester, "requester"),
        ListColumn(N_("Status"), lambda t: _status_names()[t.status], "status", sort="status"),
        ListColumn(N_("Priority"), lambda t: _priority_names()[t.priority], "priority", sort="priority"),
        ListColumn(N_("Assignee"), _assignee, "assignee"),
        ListColumn(N_("SLA"), sla_label, "sla"),
        ListColumn(N_("Next due"), lambda t: _minute(sla.next_due(t)), "next_due"),
        ListColumn(N_("Channel"), lambda t: _channel_names()[t.channel], "channel", shown=False),
        _due_column(N_("First response due"), "first_response_due_at"),
        _due_column(N_("Resolution due"), "resolution_due_at"),
        *TIMESTAMP_COLUMNS,
    ),
    list_endpoint="service.list_tickets",
)
register_columns(ENTITY, tuple(column.key for column in TICKET_LIST.columns))


@pages.get("/tickets")
def list_tickets():
    fields = s.TicketListQuery().fields
    given = {k: v for k, v in request.args.items() if k in fields and v != ""}
    message, status = None, 200
    session = current_tenant_session()
    available, shown = columns_of(TICKET_LIST)
    try:
        query = load_form(s.TicketListQuery(), given, N_("Please correct the filters."))
        page = tickets.list(session, me=g.membership.user_id, where=list_conditions(ENTITY), **query)
    except ValidationError as error:  # a bad filter, sort or cursor: say so above an empty list
        # A bad sort's message names what the list sorts by.
        message, status = " ".join([translate(error.detail), *error.errors.get("sort", [])]), 422
        query, page = {}, Page([], None)
    requesters = {
        c.id: c
        for c in session.query(Contact).filter(
            Contact.id.in_({t.requester_contact_id for t in page.data if t.requester_contact_id})
        )
    }
    for ticket in page.data:
        ticket.requester = requesters.get(ticket.requester_contact_id)
    prepare_rows(TICKET_LIST, page.data, shown)  # the shown custom fields' values (tickets are not merged)
    next_url = page.next_cursor and url_for(
        "service.list_tickets", **{**list_arguments(), "cursor": page.next_cursor}
    )
    # The view links keep the chosen order and columns; the filters are the view's own.
    kept = {name: value for name, value in list_arguments().items() if name in ("sort", "columns")}
    return render_template(
        "service/ticket_list.html",
        pages=TICKET_LIST,
        page=page,
        args=request.args,
        views=VIEWS,
        view=query.get("view") or "all",
        kept=kept,
        next_url=next_url,
        message=message,
        available_columns=available,
        columns=shown,
        sort_link=sort_link,
        list_arguments=list_arguments,
        **_ticket_context(),
    ), status


def _ticket_form() -> tuple[dict[str, Any], dict[str, Any]]:
    """The posted ticket's own fields, and its custom fields' values by key."""
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "tags", "requester_email")}
    if "tags" in request.form:
        data["tags"] = [tag for tag in request.form["tags"].replace(";", ",").split(",") if tag.strip()]
    return split_custom_form(ENTITY, data, request.form)


def _posted_custom(custom: dict[str, Any]) -> dict[str, Any]:
    """Custom values as the form's inputs show them again after an error (a multi select as a list)."""
    return {f"{custom_fields.PREFIX}{key}": value for key, value in custom.items()}


@pages.route("/tickets/new", methods=["GET", "POST"])
def new_ticket():
    values: dict[str, Any] = {"priority": "normal", "channel": "phone", **default_form_values(ENTITY)}
    if request.method == "POST":
        data, custom = _ticket_form()
        values = {**request.form.to_dict(), **_posted_custom(custom)}
        session = current_tenant_session()
        try:
            data = load_form(s.TicketIn(), data, N_("Please correct the marked fields."))
            requester = (request.form.get("requester_email") or "").strip()
            if requester:
                data["requester_contact_id"] = contact_for_email(session, requester).id
            ticket = tickets.create(session, {**data, "custom_fields": custom})
        except ValidationError as error:
            return render_template(
                "service/ticket_new.html", values=values, errors=error.errors,
                message=translate(error.detail), **_ticket_context(),
            ), 422  # fmt: skip
        flash(_("Ticket %(reference)s opened.", reference=ticket.reference))
        return redirect(url_for("service.show_ticket", ticket_id=ticket.id))
    return render_template(
        "service/ticket_new.html", values=values, errors={}, message=None, **_ticket_context()
    )


def _render_ticket(ticket_id: uuid.UUID, *, status: int = 200, **form: Any):
    session = current_tenant_session()
    ticket = tickets.get(session, ticket_id)
    requester = ticket.requester_contact_id and session.get(Contact, ticket.requester_contact_id)
    form.setdefault("edit_values", form_values(ENTITY, ticket_id))
    return render_template(
        "service/ticket_detail.html",
        ticket=ticket,
        requester=requester,
        messages=list_messages(session, ticket_id),
        history=history_rows(list_history(session, ticket_id)),
        macros=macros.list_macros(session),
        record_panels=record_panels("tickets", ticket),
        form=form,
        now=datetime.now(UTC),
        **_ticket_context(),
    ), status


@pages.get("/tickets/<uuid:ticket_id>")
def show_ticket(ticket_id: uuid.UUID):
    return _render_ticket(ticket_id)


@pages.post("/tickets/<uuid:ticket_id>/edit")
def edit_ticket(ticket_id: uuid.UUID):
    session = current_tenant_session()
    tickets.get(session, ticket_id)
    data, custom = _ticket_form()
    if "tags" not in request.form:
        data["tags"] = []
    try:
        changes = load_form(s.TicketChange(), data, N_("Please correct the ticket."))
        tickets.update(session, ticket_id, {**changes, "custom_fields": custom})
    except ValidationError as error:
        return _render_ticket(
            ticket_id, status=422, edit_errors=error.errors, edit_message=translate(error.detail),
            edit_values=_posted_custom(custom),
        )  # fmt: skip
    flash(_("Ticket saved."))
    return redirect(url_for("service.show_ticket", ticket_id=ticket_id))


@pages.post("/tickets/<uuid:ticket_id>/messages")
def reply_to_ticket(ticket_id: uuid.UUID):
    session = current_tenant_session()
    tickets.get(session, ticket_id)
    data = {k: v for k, v in request.form.items() if k in ("body", "kind", "status")}
    try:
        loaded = load_form(s.MessageIn(), data, N_("Write a message."))
        add_staff_message(session, ticket_id, channel="web_form", **loaded)
    except ValidationError as error:
        return _render_ticket(ticket_id, status=422, reply_errors=error.errors, reply_values=data)
    flash(_("Reply sent.") if loaded["kind"] == "public" else _("Note added."))
    return redirect(url_for("service.show_ticket", ticket_id=ticket_id))


@pages.post("/tickets/<uuid:ticket_id>/apply-macro")
def apply_macro(ticket_id: uuid.UUID):
    session = current_tenant_session()
    tickets.get(session, ticket_id)
    try:
        macro_id = uuid.UUID(request.form.get("macro_id", ""))
    except ValueError:
        return _render_ticket(ticket_id, status=422, macro_message=_("Choose a macro."))
    macro = macros.get_macro(session, macro_id)
    try:
        macros.apply_macro(session, ticket_id, macro.id, channel="web_form")
    except (ValidationError, Conflict) as error:
        session.rollback()  # the page shows the ticket as it was: nothing of the macro was applied
        found = error.errors.values() if isinstance(error, ValidationError) else ()
        detail = " ".join([translate(error.detail), *(message for messages in found for message in messages)])
        return _render_ticket(ticket_id, status=error.status, macro_message=detail)
    flash(_("Macro %(name)s applied.", name=macro.name))
    return redirect(url_for("service.show_ticket", ticket_id=ticket_id))
