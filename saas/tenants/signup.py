"""The public free-trial signup: a company gets its workspace and its owner account at once."""

from __future__ import annotations

import re
import unicodedata

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import login_user
from sqlalchemy import select

from saas.auth.services import find_user_by_email
from saas.db import db
from saas.errors import ValidationError
from saas.extensions import limiter
from saas.tenants.models import Tenant
from saas.tenants.provisioning import RESERVED_SLUGS, provision_tenant

signup_pages = Blueprint("signup", __name__)


def suggest_slug(company_name: str) -> str:
    """A free workspace address derived from the company name (``Müller & Söhne`` → ``muller-sohne``)."""
    ascii_name = unicodedata.normalize("NFKD", company_name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:34].strip("-") or "workspace"
    if len(base) < 3:
        base = f"{base}-co"
    taken = set(db.session.scalars(select(Tenant.slug).where(Tenant.slug.like(f"{base}%"))))
    candidate, number = base, 1
    while candidate in taken or candidate in RESERVED_SLUGS:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


@signup_pages.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("SIGNUP_RATE_LIMIT", "10 per hour"), methods=["POST"])
def signup():
    values = {key: request.form.get(key, "").strip() for key in ("name", "slug", "admin_email")}
    if request.method == "GET":
        return render_template("signup.html", values=values, errors={})
    errors: dict[str, list[str]] = {}
    if request.form.get("accept_terms") != "1":
        errors["accept_terms"] = ["Please accept the terms and the privacy notice."]
    slug = values["slug"] or (suggest_slug(values["name"]) if values["name"] else "")
    try:
        if errors:
            raise ValidationError("Please correct the marked fields.", errors)
        tenant = provision_tenant(
            slug,
            values["name"],
            values["admin_email"],
            request.form.get("admin_password", ""),
            actor="signup",
        )
    except ValidationError as error:
        merged = {**errors, **error.errors}
        return render_template("signup.html", values={**values, "slug": slug}, errors=merged), 422
    login_user(find_user_by_email(db.session, values["admin_email"]))
    return redirect(url_for("core.dashboard", slug=tenant.slug, welcome=1))
