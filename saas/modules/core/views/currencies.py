"""The admins' settings page ``/settings/currencies``: the base currency, exchange rates by day, and an
import of the ECB's reference-rate file."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from flask import g, render_template, request
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.core import currencies
from saas.modules.core.blueprints import pages
from saas.modules.core.views.merge import run_admin_change
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role


def _page(message: str | None = None, errors: dict | None = None, values: dict | None = None, status=200):
    session = current_tenant_session()
    return render_template(
        "core/currencies.html", base=currencies.base_currency(session), rates=currencies.list_rates(session),
        message=message, errors=errors or {}, values=values or {}, today=date.today().isoformat(),
    ), status  # fmt: skip


def _change(action: Callable[[], str]):
    def rerender(error):
        return _page(
            translate(error.detail), getattr(error, "errors", {}), request.form.to_dict(), error.status
        )

    return run_admin_change(action, rerender, "core.currency_settings")


@pages.get("/settings/currencies")
def currency_settings():
    require_role(*ADMIN_ROLES)
    return _page()


@pages.post("/settings/currencies/base")
def change_base_currency():
    def change() -> str:
        code = currencies.set_base_currency(current_tenant_session(), request.form.get("base_currency", ""))
        return gettext("The base currency is %(code)s.", code=code)

    return _change(change)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = "Give the day the rate applies from (YYYY-MM-DD)."
        raise ValidationError(message, {"valid_on": [message]}) from None


@pages.post("/settings/currencies/rates")
def add_exchange_rate():
    def add() -> str:
        form = request.form
        valid_on = _day(form.get("valid_on", ""))
        rate = currencies.set_rate(
            current_tenant_session(), form.get("currency", ""), form.get("rate", ""), valid_on,
            actor_user_id=g.membership.user_id,
        )  # fmt: skip
        equation = currencies.rate_equation(rate.currency, rate.rate, rate.base_currency)
        return gettext("%(equation)s from %(day)s.", equation=equation, day=rate.valid_on)

    return _change(add)


@pages.post("/settings/currencies/rates/<uuid:rate_id>/delete")
def delete_exchange_rate(rate_id: uuid.UUID):
    def remove() -> str:
        currencies.delete_rate(current_tenant_session(), rate_id)
        return gettext("Rate deleted.")

    return _change(remove)


@pages.post("/settings/currencies/reference-file")
def import_reference_file():
    def load() -> str:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(
                "Choose the reference-rate file.", {"file": ["Choose the reference-rate file."]}
            )
        report = currencies.import_reference_rates(
            current_tenant_session(), upload.read(currencies.MAX_REFERENCE_BYTES + 1),
            g.membership.user_id,
        )  # fmt: skip
        stored = gettext("%(rates)s rates of %(days)s days stored.", rates=report.stored, days=report.days)
        if not report.refused:
            return stored
        lines = [
            gettext("Line %(line)s: %(reason)s", line=r["line"], reason=translate(r["reason"]))
            for r in report.refused[:20]
        ]
        if len(report.refused) > 20:
            lines.append(gettext("and %(count)s more", count=len(report.refused) - 20))
        return f"{stored} {gettext('Refused: %(lines)s', lines='; '.join(lines))}"

    return _change(load)
