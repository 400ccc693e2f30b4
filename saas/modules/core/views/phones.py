"""The admins' settings page ``/settings/phones``: the region numbers typed without a country code are
read in (and shown in national format to readers there)."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext

from saas.modules.core import phones
from saas.modules.core.blueprints import pages
from saas.modules.core.views.merge import run_admin_change
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role


def _page(errors: dict | None = None, value: str | None = None, status: int = 200):
    region = phones.phone_region(current_tenant_session())
    return render_template(
        "core/phones.html", region=region, value=value if value is not None else region or "",
        errors=errors or {}, example=phones.example_number(region),
    ), status  # fmt: skip


@pages.get("/settings/phones")
def phone_settings():
    require_role(*ADMIN_ROLES)
    return _page()


@pages.post("/settings/phones")
def change_phone_region():
    value = request.form.get("region", "")

    def change() -> str:
        region = phones.set_phone_region(current_tenant_session(), value)
        return gettext(
            "Phone numbers without a country code are read as numbers of %(region)s.", region=region
        )

    def rerender(error):
        return _page(getattr(error, "errors", {}), value, error.status)

    return run_admin_change(change, rerender, "core.phone_settings")
