"""Service settings (owners and admins): SLA targets, business hours and holidays, queues, inbound mail."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from saas.errors import ValidationError
from saas.i18n import N_, translate
from saas.modules.core.views.records import member_choices
from saas.modules.service import admin, email, queues, sla
from saas.modules.service.blueprints import pages
from saas.modules.service.models import (
    PRIORITIES,
    STRATEGIES,
)
from saas.modules.service.views.tickets import _priority_names
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session


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
        strategy_names={
            "manual": _("Manual"),
            "round_robin": _("Round robin"),
            "least_loaded": _("Least loaded"),
        },
        priority_names=_priority_names(),
        # ISO weekdays 1 (Monday) to 7 in the reader's language (Babel numbers them 0 to 6).
        weekdays=[(n, get_locale().days["format"]["abbreviated"][n - 1]) for n in range(1, 8)],
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
        detail = translate(error.detail)
        if error.errors:  # the fields' own messages; the detail already names what is wrong
            # str() would drop a filled message's values and language; only a non-text message needs it.
            shown = (
                translate(m) if isinstance(m, str) else str(m)
                for found in error.errors.values()
                for m in found
            )
            detail += " " + " ".join(shown)
        return _render_settings(422, detail)
    flash(_("Saved."))
    return redirect(url_for("service.settings"))


def _minutes(text: str | None, field: str) -> int:
    """``HH:MM`` to minutes after midnight (24:00 is the end of the day)."""
    try:
        hours, minutes = (int(part) for part in (text or "").split(":"))
    except ValueError:
        raise ValidationError(N_("Times are HH:MM."), {field: ["HH:MM"]}) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 1440:
        raise ValidationError(N_("Times are HH:MM."), {field: ["HH:MM"]})
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
            raise ValidationError(N_("A holiday needs a date."), {"day": ["YYYY-MM-DD"]}) from None
        # Stored as the msgid: the page shows an unnamed holiday in each reader's language.
        name = (request.form.get("name") or "").strip()[:100] or N_("Holiday")
        admin.add_holiday(session, day, name)

    return _settings_action(action)


@pages.post("/settings/service/holidays/<string:day>/delete")
def remove_holiday(day: str):
    def action(session):
        try:
            admin.remove_holiday(session, date.fromisoformat(day))
        except ValueError:
            raise ValidationError(N_("A holiday needs a date."), {"day": ["YYYY-MM-DD"]}) from None

    return _settings_action(action)


@pages.post("/settings/service/policies")
def save_policies():
    def action(session):
        for priority in PRIORITIES:
            first = request.form.get(f"{priority}_first", "")
            resolution = request.form.get(f"{priority}_resolution", "")
            if not (first.isdigit() and resolution.isdigit()):
                raise ValidationError(N_("Targets are whole minutes."), {priority: [N_("Whole minutes.")]})
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
