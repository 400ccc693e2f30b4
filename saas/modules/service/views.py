"""Staff pages of the service module under /t/<slug>/: ticket views and detail, the service dashboard,
the knowledge base editor, and service settings (SLA, calendar, queues, inbound mail)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from saas.errors import ValidationError
from saas.modules.core import custom_fields
from saas.modules.core.models import Contact
from saas.modules.core.pagination import Page
from saas.modules.core.saved_views import register_columns
from saas.modules.core.views import load_form, member_choices, record_panels, workspace_people
from saas.modules.core.views_columns import (
    TIMESTAMP_COLUMNS,
    ListColumn,
    RecordList,
    columns_of,
    list_arguments,
    prepare_rows,
    sort_link,
)
from saas.modules.core.views_custom_fields import (
    default_form_values,
    form_values,
    list_conditions,
    split_custom_form,
)
from saas.modules.service import admin, email, kb, queues, sla
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import pages
from saas.modules.service.figures import service_figures
from saas.modules.service.models import CHANNELS, PRIORITIES, STATUSES, STRATEGIES
from saas.modules.service.tickets import (
    ENTITY,
    VIEWS,
    add_staff_message,
    contact_for_email,
    list_history,
    list_messages,
    tickets,
)
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session

CHART_HEIGHT = 160
BAR = 10


def _ticket_context() -> dict[str, Any]:
    session = current_tenant_session()
    return {
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "channels": CHANNELS,
        "queues": queues.list_queues(session),
        "priority_options": [(p, p.capitalize()) for p in PRIORITIES],
        "channel_options": [(c, c.replace("_", " ").capitalize()) for c in CHANNELS],
        "status_options": [(st, st.replace("_", " ").capitalize()) for st in STATUSES],
        "queue_options": [(q.id, q.name) for q in queues.list_queues(session)],
        "members": [choice for choice in member_choices() if choice[0] != ""],
        "people": workspace_people(),
        "sla_state": sla.sla_state,
        "next_due": sla.next_due,
    }


@pages.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_label": lambda status: status.replace("_", " "),
        "category_options": lambda categories: [(c.id, c.name) for c in categories],
    }


def _minute(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _requester(ticket: Any) -> str:
    # ``requester`` is put on each row of the page by list_tickets (one query for the page).
    contact = getattr(ticket, "requester", None)
    return contact.display_name if contact else ""


def _assignee(ticket: Any) -> str:
    return workspace_people().get(ticket.assignee_user_id, "") if ticket.assignee_user_id else "Unassigned"


def _due_column(label: str, attribute: str) -> ListColumn:
    """An SLA due time, sortable (empty ones last), not shown unless chosen."""

    def value(ticket: Any) -> str:
        return _minute(getattr(ticket, attribute))

    return ListColumn(label, value, attribute, sort=attribute, shown=False)


TICKET_LIST = RecordList(
    service=tickets,
    columns=(
        ListColumn("Subject", lambda t: t.subject, "subject", sort="subject"),
        ListColumn("Ref", lambda t: t.reference, "reference"),
        ListColumn("Requester", _requester, "requester"),
        ListColumn("Status", lambda t: t.status.replace("_", " "), "status", sort="status"),
        ListColumn("Priority", lambda t: t.priority, "priority", sort="priority"),
        ListColumn("Assignee", _assignee, "assignee"),
        ListColumn("SLA", lambda t: sla.sla_state(t), "sla"),
        ListColumn("Next due (UTC)", lambda t: _minute(sla.next_due(t)), "next_due"),
        ListColumn("Channel", lambda t: t.channel.replace("_", " "), "channel", shown=False),
        _due_column("First response due (UTC)", "first_response_due_at"),
        _due_column("Resolution due (UTC)", "resolution_due_at"),
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
        query = load_form(s.TicketListQuery(), given, "Please correct the filters.")
        page = tickets.list(session, me=g.membership.user_id, where=list_conditions(ENTITY), **query)
    except ValidationError as error:  # a bad filter, sort or cursor: say so above an empty list
        # A bad sort's message names what the list sorts by.
        message, status = " ".join([error.detail, *error.errors.get("sort", [])]), 422
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
            data = load_form(s.TicketIn(), data, "Please correct the marked fields.")
            requester = (request.form.get("requester_email") or "").strip()
            if requester:
                data["requester_contact_id"] = contact_for_email(session, requester).id
            ticket = tickets.create(session, {**data, "custom_fields": custom})
        except ValidationError as error:
            return render_template(
                "service/ticket_new.html", values=values, errors=error.errors, message=error.detail,
                **_ticket_context(),
            ), 422  # fmt: skip
        flash(f"Ticket {ticket.reference} opened.")
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
        history=list_history(session, ticket_id),
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
        changes = load_form(s.TicketChange(), data, "Please correct the ticket.")
        tickets.update(session, ticket_id, {**changes, "custom_fields": custom})
    except ValidationError as error:
        return _render_ticket(
            ticket_id, status=422, edit_errors=error.errors, edit_message=error.detail,
            edit_values=_posted_custom(custom),
        )  # fmt: skip
    flash("Ticket saved.")
    return redirect(url_for("service.show_ticket", ticket_id=ticket_id))


@pages.post("/tickets/<uuid:ticket_id>/messages")
def reply_to_ticket(ticket_id: uuid.UUID):
    session = current_tenant_session()
    tickets.get(session, ticket_id)
    data = {k: v for k, v in request.form.items() if k in ("body", "kind", "status")}
    try:
        loaded = load_form(s.MessageIn(), data, "Write a message.")
        add_staff_message(session, ticket_id, channel="web_form", **loaded)
    except ValidationError as error:
        return _render_ticket(ticket_id, status=422, reply_errors=error.errors, reply_values=data)
    flash("Reply sent." if loaded["kind"] == "public" else "Note added.")
    return redirect(url_for("service.show_ticket", ticket_id=ticket_id))


def bar_chart(days: list) -> dict[str, Any]:
    """Geometry of the per-day chart: created, solved and solved-late bars, scaled to the largest."""
    top = max([max(d.created, d.solved) for d in days] + [1])
    group = BAR * 3 + 8
    bars = []
    for index, day in enumerate(days):
        x = 8 + index * group
        values = (("created", day.created), ("solved", day.solved), ("breached", day.breached))
        for offset, (series, value) in enumerate(values):
            height = value / top * CHART_HEIGHT
            bar = {"series": series, "x": x + offset * BAR, "y": CHART_HEIGHT - height, "height": height}
            bars.append({**bar, "value": value, "day": day.day})
    return {"bars": bars, "width": 8 + len(days) * group, "height": CHART_HEIGHT, "top": top, "group": group}


@pages.get("/service")
def dashboard():
    figures = service_figures(current_tenant_session())
    return render_template("service/dashboard.html", figures=figures, chart=bar_chart(figures["days"]))


# --- knowledge base -------------------------------------------------------------------------------


@pages.get("/kb")
def list_articles():
    session = current_tenant_session()
    q = (request.args.get("q") or "").strip()[:500]
    articles = kb.search_articles(session, q, published_only=False) if q else kb.list_articles(session)
    return render_template(
        "service/kb_list.html", articles=articles, q=q, categories=kb.list_categories(session), message=None
    )


@pages.post("/kb/categories")
def create_category():
    session = current_tenant_session()
    try:
        kb.create_category(session, request.form.get("name", ""))
    except ValidationError as error:
        return render_template(
            "service/kb_list.html", articles=kb.list_articles(session), q="",
            categories=kb.list_categories(session), message=error.detail,
        ), 422  # fmt: skip
    flash("Category added.")
    return redirect(url_for("service.list_articles"))


def _article_form(article_id: uuid.UUID | None):
    session = current_tenant_session()
    article = kb.get_article(session, article_id) if article_id else None
    values = dict(request.form) if request.method == "POST" else {
        "title": article.title if article else "", "body": article.body if article else "",
        "status": article.status if article else "draft",
        "category_id": str(article.category_id or "") if article else "",
    }  # fmt: skip
    if request.method == "POST":
        data = {k: v for k, v in request.form.items() if k in ("title", "body", "status", "category_id")}
        try:
            loaded = load_form(s.ArticleIn(), data, "Please correct the article.")
            article = (
                kb.update_article(session, article_id, loaded)
                if article_id
                else kb.create_article(session, loaded)
            )
        except ValidationError as error:
            return render_template(
                "service/kb_form.html", values=values, errors=error.errors, message=error.detail,
                article_id=article_id, categories=kb.list_categories(session),
            ), 422  # fmt: skip
        flash("Article saved.")
        return redirect(url_for("service.edit_article", kb_article_id=article.id))
    return render_template(
        "service/kb_form.html", values=values, errors={}, message=None, article_id=article_id,
        categories=kb.list_categories(session),
    )  # fmt: skip


@pages.route("/kb/new", methods=["GET", "POST"])
def new_article():
    return _article_form(None)


@pages.route("/kb/<uuid:kb_article_id>", methods=["GET", "POST"])
def edit_article(kb_article_id: uuid.UUID):
    return _article_form(kb_article_id)


@pages.post("/kb/<uuid:kb_article_id>/delete")
def delete_article(kb_article_id: uuid.UUID):
    kb.delete_article(current_tenant_session(), kb_article_id)
    flash("Article deleted.")
    return redirect(url_for("service.list_articles"))


# --- settings -------------------------------------------------------------------------------------


def _render_settings(status: int = 200, message: str | None = None):
    from saas.tenants.routing import require_role

    require_role(*ADMIN_ROLES)
    session = current_tenant_session()
    return render_template(
        "service/settings.html",
        calendar=sla.calendar_row(session),
        holidays=sla.list_holidays(session),
        policies=sla.list_policies(session),
        queues=queues.list_queues(session),
        members=[choice for choice in member_choices() if choice[0] != ""],
        strategies=STRATEGIES,
        address=email.tenant_address(g.tenant.slug),
        inbound_url=url_for("service_portal.inbound_mail", slug=g.tenant.slug, _external=True),
        inbound_secret=email.inbound_secret(g.tenant.id),
        message=message,
    ), status


@pages.get("/settings/service")
def settings():
    return _render_settings()


def _settings_action(action) -> Any:
    try:
        action(current_tenant_session())
    except ValidationError as error:
        detail = error.detail
        if error.errors:
            detail += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.errors.items())
        return _render_settings(422, detail)
    flash("Saved.")
    return redirect(url_for("service.settings"))


def _minutes(text: str | None, field: str) -> int:
    """``HH:MM`` to minutes after midnight (24:00 is the end of the day)."""
    try:
        hours, minutes = (int(part) for part in (text or "").split(":"))
    except ValueError:
        raise ValidationError("Times are HH:MM.", {field: ["HH:MM"]}) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 1440:
        raise ValidationError("Times are HH:MM.", {field: ["HH:MM"]})
    return hours * 60 + minutes


@pages.post("/settings/service/calendar")
def save_calendar():
    def action(session):
        admin.update_calendar(
            session,
            {
                "timezone": (request.form.get("timezone") or "").strip(),
                "work_days": [int(d) for d in request.form.getlist("work_days") if d.isdigit()],
                "start_minute": _minutes(request.form.get("start"), "start"),
                "end_minute": _minutes(request.form.get("end"), "end"),
            },
        )

    return _settings_action(action)


@pages.post("/settings/service/holidays")
def add_holiday():
    def action(session):
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            raise ValidationError("A holiday needs a date.", {"day": ["YYYY-MM-DD"]}) from None
        name = (request.form.get("name") or "").strip()[:100] or "Holiday"
        admin.add_holiday(session, day, name)

    return _settings_action(action)


@pages.post("/settings/service/holidays/<string:day>/delete")
def remove_holiday(day: str):
    def action(session):
        try:
            admin.remove_holiday(session, date.fromisoformat(day))
        except ValueError:
            raise ValidationError("A holiday needs a date.", {"day": ["YYYY-MM-DD"]}) from None

    return _settings_action(action)


@pages.post("/settings/service/policies")
def save_policies():
    def action(session):
        for priority in PRIORITIES:
            first = request.form.get(f"{priority}_first", "")
            resolution = request.form.get(f"{priority}_resolution", "")
            if not (first.isdigit() and resolution.isdigit()):
                raise ValidationError("Targets are whole minutes.", {priority: ["Whole minutes."]})
            admin.set_policy(session, priority, int(first), int(resolution))

    return _settings_action(action)


def _queue_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "strategy": request.form.get("strategy", "round_robin"),
        "member_ids": [uuid.UUID(m) for m in request.form.getlist("member_ids") if _is_uuid(m)],
        "is_default": request.form.get("is_default") == "1",
    }


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@pages.post("/settings/service/queues")
def create_queue():
    return _settings_action(lambda session: admin.create_queue(session, _queue_data()))


@pages.post("/settings/service/queues/<uuid:service_queue_id>")
def update_queue(service_queue_id: uuid.UUID):
    queues.get_queue(current_tenant_session(), service_queue_id)
    return _settings_action(lambda session: admin.update_queue(session, service_queue_id, _queue_data()))


@pages.post("/settings/service/queues/<uuid:service_queue_id>/delete")
def delete_queue(service_queue_id: uuid.UUID):
    queues.get_queue(current_tenant_session(), service_queue_id)
    return _settings_action(lambda session: admin.delete_queue(session, service_queue_id))
