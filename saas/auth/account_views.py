"""The signed-in person's own security page (/account/security): their browser sessions (revoke one,
or all others), their password, and two-factor sign-in (enroll, recovery codes, disable)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from saas.auth import sessions, two_factor
from saas.auth.services import change_password, set_user_time_zone
from saas.auth.sso import password_barred_workspace
from saas.auth.views import limit_code_guesses, safe_next, show_field_errors
from saas.db import db
from saas.errors import ValidationError
from saas.i18n import LANGUAGES, N_, translate
from saas.tenants.language import set_user_language, time_zone_names

account_pages = Blueprint("account", __name__, url_prefix="/account", template_folder="templates")

NOT_RIGHT_NOW = N_("The form has expired. Please try again.")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )


class ConfirmCodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"), validators=[DataRequired(), Length(max=32)])


class DisableTwoFactorForm(FlaskForm):
    proof = PasswordField(
        _l("A current code from your app, or your password"), validators=[DataRequired(), Length(max=256)]
    )


@account_pages.before_request
@login_required
def _signed_in_only() -> None:
    """Every page here is about the signed-in person."""


def _security_page(status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    user = current_user._get_current_object()
    return render_template(
        "account/security.html",
        sessions=sessions.live_sessions(db.session, user.id),
        this_session=sessions.current_session_id(),
        action_form=FlaskForm(formdata=None),
        password_form=forms.get("password_form") or ChangePasswordForm(formdata=None),
        may_change_password=bool(user.password_hash) and password_barred_workspace(db.session, user) is None,
        two_factor_on=two_factor.has_two_factor(db.session, user.id),
        recovery_codes_left=two_factor.remaining_recovery_codes(db.session, user.id),
        disable_form=forms.get("disable_form") or DisableTwoFactorForm(formdata=None),
        renew_form=forms.get("renew_form") or ConfirmCodeForm(formdata=None),
        languages=LANGUAGES,
        time_zones=time_zone_names(),
    ), status


@account_pages.route("/security")
def security():
    return _security_page()


# -- sessions ----------------------------------------------------------------------------------


@account_pages.route("/sessions/<uuid:session_id>/revoke", methods=["POST"])
def revoke_session(session_id: uuid.UUID):
    if not FlaskForm().validate_on_submit():
        flash(_(NOT_RIGHT_NOW), "error")
        return redirect(url_for("account.security"))
    if sessions.revoke_session(db.session, current_user, session_id):
        db.session.commit()
        flash(_("That browser was signed out."))
    else:
        flash(_("That session had ended already."))
    return redirect(url_for("account.security"))


@account_pages.route("/sessions/revoke-others", methods=["POST"])
def sign_out_everywhere_else():
    if not FlaskForm().validate_on_submit():
        flash(_(NOT_RIGHT_NOW), "error")
        return redirect(url_for("account.security"))
    count = sessions.revoke_all_sessions(
        db.session, current_user, reason="signed_out_everywhere", keep=sessions.current_session_id()
    )
    db.session.commit()
    flash(
        ngettext(
            "Signed out everywhere else (%(num)d other session ended).",
            "Signed out everywhere else (%(num)d other sessions ended).",
            count,
        )
    )
    return redirect(url_for("account.security"))


# -- language ----------------------------------------------------------------------------------


@account_pages.route("/language", methods=["POST"])
def language():
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_(NOT_RIGHT_NOW), "error")
        return redirect(url_for("account.security"))
    try:
        set_user_language(current_user._get_current_object(), request.form.get("locale", ""))
    except ValidationError as error:
        db.session.rollback()
        flash(translate(error.detail), "error")
        return _security_page(422)
    db.session.commit()
    refresh()  # the confirmation speaks the language just chosen
    flash(_("Your language is saved."))
    return redirect(url_for("account.security"))


@account_pages.route("/time-zone", methods=["POST"])
def time_zone():
    form = FlaskForm()
    if not form.validate_on_submit():
        flash(_(NOT_RIGHT_NOW), "error")
        return redirect(url_for("account.security"))
    try:
        set_user_time_zone(current_user._get_current_object(), request.form.get("time_zone", ""))
    except ValidationError as error:
        db.session.rollback()
        flash(translate(error.detail), "error")
        return _security_page(422)
    db.session.commit()
    refresh()  # the next page formats times in the zone just chosen
    flash(_("Your time zone is saved."))
    return redirect(url_for("account.security"))


# -- password ----------------------------------------------------------------------------------


@account_pages.route("/password", methods=["POST"])
@limit_code_guesses
def password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if not user.password_hash or password_barred_workspace(db.session, user) is not None:
        flash(_("Your account signs in with single sign-on: it has no password to change."), "error")
        return redirect(url_for("account.security"))
    if not form.validate_on_submit():
        return _security_page(400, password_form=form)
    try:
        change_password(
            db.session,
            user,
            form.current_password.data,
            form.password.data,
            keep=sessions.current_session_id(),
        )
    except ValidationError as error:
        db.session.rollback()
        show_field_errors(form, error)
        return _security_page(422, password_form=form)
    db.session.commit()
    flash(_("Your password was changed, and every other browser was signed out."))
    return redirect(url_for("account.security"))


# -- two-factor --------------------------------------------------------------------------------


def _recovery_codes_page(codes: list[str], target: str | None) -> Response:
    response = make_response(render_template("account/recovery_codes.html", codes=codes, target=target))
    # Shown once: no cache, no back button, may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


@account_pages.route("/two-factor/enable", methods=["GET", "POST"])
@limit_code_guesses
def enable_two_factor():
    user = current_user._get_current_object()
    target = safe_next(request.args.get("next"))
    if two_factor.has_two_factor(db.session, user.id):
        flash(_("Two-factor sign-in is on already."))
        return redirect(target or url_for("account.security"))
    form = ConfirmCodeForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                codes = two_factor.confirm_enrollment(db.session, user, form.code.data)
            except ValidationError as error:
                db.session.rollback()
                show_field_errors(form, error)
                status = 422
            else:
                db.session.commit()
                return _recovery_codes_page(codes, target)
    record = two_factor.start_enrollment(db.session, user)
    db.session.commit()
    uri = two_factor.provisioning_uri(user, record)
    page = render_template(
        "account/two_factor_enable.html",
        form=form,
        qr_code=two_factor.qr_code_svg(uri),
        secret=two_factor.readable_secret(record),
        target=target,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # the page shows the secret
    return response


@account_pages.route("/two-factor/recovery-codes", methods=["POST"])
@limit_code_guesses
def renew_recovery_codes():
    form = ConfirmCodeForm()
    if not form.validate_on_submit():
        return _security_page(400, renew_form=form)
    try:
        codes = two_factor.renew_recovery_codes(db.session, current_user, form.code.data)
    except ValidationError as error:
        db.session.rollback()
        show_field_errors(form, error)
        return _security_page(422, renew_form=form)
    db.session.commit()
    return _recovery_codes_page(codes, None)


@account_pages.route("/two-factor/disable", methods=["POST"])
@limit_code_guesses
def disable_two_factor():
    form = DisableTwoFactorForm()
    if not form.validate_on_submit():
        return _security_page(400, disable_form=form)
    try:
        two_factor.disable(db.session, current_user, form.proof.data)
    except ValidationError as error:
        db.session.rollback()
        show_field_errors(form, error)
        return _security_page(422, disable_form=form)
    db.session.commit()
    flash(_("Two-factor sign-in is off."))
    return redirect(url_for("account.security"))
