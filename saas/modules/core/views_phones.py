"""The admins' settings page ``/settings/phones``: the region numbers typed without a country code are
read in (and shown in national format to readers there)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from saas.errors import ValidationError
from saas.modules.core import phones
from saas.modules.core.views import pages
from saas.modules.core.views_merge import commit_audit_on_success
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
    require_role(*ADMIN_ROLES)
    value = request.form.get("region", "")
    try:
        region = phones.set_phone_region(current_tenant_session(), value)
    except ValidationError as error:
        return _page(error.errors, value, error.status)
    commit_audit_on_success()
    flash(f"Phone numbers without a country code are read as numbers of {region}.")
    return redirect(url_for("core.phone_settings"))
