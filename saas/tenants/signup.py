"""The public free-trial signup: the company's details first, then a mailed link on which the owner
chooses a password, and the workspace and its owner account are created at once.

The address proves itself before anything exists, and the page answers the same whether or not it
already has an account: that owner is mailed a notice with a sign-in link instead, nothing is created,
and no password is checked against theirs (signup is no account oracle and no password oracle).
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from saas.audit import record_audit
from saas.auth.models import User
from saas.auth.passwords import hash_password
from saas.auth.services import find_user_by_email, normalise_email
from saas.cells import DEFAULT_CELL, cell_directory
from saas.db import db
from saas.errors import SaasError, ValidationError
from saas.extensions import limiter
from saas.i18n import N_, current_locale, in_locale, translate
from saas.jobs import queue
from saas.mail import send_mail
from saas.ratelimits import within_email_limit
from saas.tenants.models import Tenant
from saas.tenants.provisioning import RESERVED_SLUGS, check_cell, check_tenant_fields, provision_tenant

signup_pages = Blueprint("signup", __name__)

CONFIRM_SECONDS = 24 * 3600
_SALT = "signup-confirmation"
LINK_REFUSED = "This signup link is not valid any more: it expired (links last 24 hours). Sign up again."


class SignupLinkRefused(SaasError):
    status = 400
    title = "Link not valid"


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


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _checked_email(email: str) -> str:
    return normalise_email(email, field="admin_email")


def _offered_cell(name: str) -> str:
    """The region a signup chose, among those offered (none chosen: the first one offered)."""
    offered = [cell.name for cell in cell_directory().signup_cells()]
    if not name and offered:
        return offered[0]
    check_cell(name, offered)
    return name


def _checked_request(values: dict[str, str], accepted_terms: bool) -> dict[str, str]:
    """The signup's name, address (empty: derived when the link is used), email and region, or a
    :class:`ValidationError` for every field at fault. Nothing here depends on who has an account."""
    present = {f: value for f, value in values.items() if f != "cell" and (f != "slug" or value)}
    checked, errors = check_tenant_fields(present)
    try:
        checked["cell"] = _offered_cell(values.get("cell", ""))
    except ValidationError as error:
        errors.update(error.errors or {})
    if not accepted_terms:
        errors["accept_terms"] = [N_("Please accept the terms and the privacy notice.")]
    if errors:
        raise ValidationError("Please correct the marked fields.", errors)
    return {**values, **checked}


def _render_signup(values: dict[str, str], errors: dict[str, list[str]]) -> str:
    # The region choice appears only when the operator offers more than one.
    cells = cell_directory().signup_cells()
    return render_template("signup.html", values=values, errors=errors, cells=cells if len(cells) > 1 else [])


@signup_pages.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("SIGNUP_RATE_LIMIT", "10 per hour"), methods=["POST"])
def signup():
    values = {key: request.form.get(key, "").strip() for key in ("name", "slug", "admin_email", "cell")}
    if request.method == "GET":
        return _render_signup(values, {})
    try:
        checked = _checked_request(values, request.form.get("accept_terms") == "1")
    except ValidationError as error:
        return _render_signup(values, error.errors or {}), 422
    email = checked["admin_email"]
    if within_email_limit("SIGNUP_EMAIL_RATE_LIMIT", "3 per hour", email, scope="signup"):
        # Both links are made and the job queued for every address: it alone looks the address up.
        token = _serializer().dumps(
            {"n": checked["name"], "s": checked["slug"], "e": email, "c": checked["cell"]}
        )
        confirm_url = url_for("signup.confirm", token=token, _external=True)
        login_url = url_for("auth.login", _external=True)
        queue().enqueue(send_signup_mail, email, confirm_url, login_url, current_locale())
    return render_template("signup_sent.html")


def send_signup_mail(email: str, confirm_url: str, login_url: str, locale: str | None = None) -> str:
    """Job body: mail a new address its confirmation link, in ``locale`` (the signup page's); mail the
    owner of an existing account a notice (with where to sign in) instead, in their own language.
    Returns what it did (no address)."""
    user = find_user_by_email(db.session, email)
    if user is None:
        with in_locale(locale):
            body = gettext(
                "Welcome! Someone (we hope you) started a free trial of the CRM with this address.\n\n"
                "Choose your password and create the workspace here (the link works for 24 hours):\n"
                "%(link)s\n\nIf this was not you, ignore this message: nothing was created.",
                link=confirm_url,
            )
            send_mail(email, gettext("Confirm your new CRM workspace"), body)
        return "confirmation_sent"
    with in_locale(user.locale or locale):
        body = gettext(
            "Someone just tried to create a new CRM workspace with your email address. This address "
            "already has an account, so nothing was created.\n\n"
            "If it was you, sign in here instead:\n%(link)s\n\n"
            "If it was not you, you need not do anything: your account and password are unchanged.",
            link=login_url,
        )
        send_mail(user.email, gettext("Someone tried to sign up with your address"), body)
    record_audit(db.session, "signup.existing_address", actor="signup", target=str(user.id))
    db.session.commit()
    return "owner_notified"


def _read_token(token: str) -> dict[str, str]:
    try:
        data = _serializer().loads(token, max_age=CONFIRM_SECONDS)
        # "c": the region chosen; links mailed before cells existed chose none (the first one offered).
        return {
            "name": str(data["n"]),
            "slug": str(data["s"]),
            "admin_email": str(data["e"]),
            "cell": str(data.get("c", "")),
        }
    except (BadData, KeyError, TypeError):
        raise SignupLinkRefused(LINK_REFUSED) from None


@signup_pages.route("/signup/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("SIGNUP_RATE_LIMIT", "10 per hour"), methods=["POST"])
def confirm(token: str):
    """The mailed link: the owner chooses a password and the workspace is created. The link proved the
    mailbox, so an address that has an account by now may be told so (a second use of the link too)."""
    signup = _read_token(token)
    if find_user_by_email(db.session, signup["admin_email"]) is not None:
        return render_template("signup_confirm.html", signup=signup, errors={}, has_account=True), 409
    if request.method == "GET":
        return render_template("signup_confirm.html", signup=signup, errors={})
    slug = signup["slug"] or suggest_slug(signup["name"])
    try:
        cell = _offered_cell(signup["cell"])
    except ValidationError as error:  # the region was withdrawn from signup since the link was mailed
        return render_template("signup_confirm.html", signup=signup, errors=error.errors), 422
    request.max_content_length = current_app.config["SAAS_SETTINGS"].import_max_bytes
    archive = request.files.get("archive")
    if archive is not None and archive.filename:
        if cell != DEFAULT_CELL:
            # Archive imports are loaded by jobs that do not yet run per cell (phase 2 of cells).
            errors = {"archive": [gettext("Starting from an archive is not offered in this region yet.")]}
            return render_template("signup_confirm.html", signup=signup, errors=errors), 422
        return _start_from_archive(signup, slug, archive)
    try:
        tenant = provision_tenant(
            slug,
            signup["name"],
            signup["admin_email"],
            request.form.get("admin_password", ""),
            actor="signup",
            cell=cell,
        )
    except ValidationError as error:
        return render_template("signup_confirm.html", signup=signup, errors=error.errors), 422
    login_user(find_user_by_email(db.session, signup["admin_email"]))
    return redirect(url_for("core.dashboard", slug=tenant.slug, welcome=1))


def _start_from_archive(signup: dict[str, str], slug: str, archive):
    """The workspace is made from an uploaded archive, by a job: the owner's account is created now (the
    link proved the mailbox) and signed in, so that they follow the import's progress."""
    from saas.exports import imports
    from saas.tenants.provisioning import check_tenant_fields

    password = request.form.get("admin_password", "")
    _, errors = check_tenant_fields({"slug": slug, "name": signup["name"], "admin_password": password})
    if errors:
        return render_template("signup_confirm.html", signup=signup, errors=errors), 422
    owner = User(email=signup["admin_email"], password_hash=hash_password(password), is_active_flag=True)
    db.session.add(owner)
    db.session.flush()
    try:
        record = imports.start_signup_import(owner, slug=slug, name=signup["name"], upload=archive.stream)
    except SaasError as error:
        db.session.rollback()
        return render_template("signup_confirm.html", signup=signup, errors={"archive": [error.detail]}), 422
    login_user(owner)
    return redirect(url_for("signup.import_status", import_id=record.id))


@signup_pages.route("/signup/imports/<uuid:import_id>")
@login_required
def import_status(import_id: uuid.UUID):
    """The signup import's progress, for the person who started it; once done, their new workspace."""
    from saas.exports import imports

    record = imports.get_own_signup_import(current_user.id, import_id)
    if record.status == "done":
        tenant = db.session.get(Tenant, record.tenant_id)
        return redirect(url_for("exports.restore_status", slug=tenant.slug, restore_id=record.id))
    progress_url = url_for("signup.import_progress", import_id=record.id)
    return render_template("signup_import.html", record=record, progress_url=progress_url)


@signup_pages.route("/signup/imports/<uuid:import_id>/progress")
@login_required
def import_progress(import_id: uuid.UUID):
    from saas.exports import imports

    return jsonify(imports.progress(imports.get_own_signup_import(current_user.id, import_id)))


@signup_pages.route("/signup/imports/<uuid:import_id>", methods=["POST"])
@login_required
def retry_import(import_id: uuid.UUID):
    """Another archive for a signup import that was refused: the same workspace name and address."""
    from saas.exports import imports

    record = imports.get_own_signup_import(current_user.id, import_id)
    request.max_content_length = current_app.config["SAAS_SETTINGS"].import_max_bytes
    archive = request.files.get("archive")
    if record.status not in ("refused", "failed") or archive is None or not archive.filename:
        return redirect(url_for("signup.import_status", import_id=record.id))
    try:
        retry = imports.start_signup_import(
            current_user, slug=record.slug, name=record.name, upload=archive.stream
        )
    except SaasError as error:
        db.session.rollback()
        flash(translate(error.detail))
        return redirect(url_for("signup.import_status", import_id=record.id))
    return redirect(url_for("signup.import_status", import_id=retry.id))
