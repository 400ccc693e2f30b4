"""Sign-in (with its two-factor step) and sign-out pages, and the forgotten-password pages."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from saas.auth import password_reset, two_factor
from saas.auth.models import User
from saas.auth.services import authenticate, find_user_by_email, normalise_email
from saas.auth.sessions import password_fingerprint, signed_in_user
from saas.auth.sso import password_barred_workspace
from saas.db import db
from saas.errors import ValidationError
from saas.extensions import limiter

auth_pages = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class NewPasswordForm(FlaskForm):
    """Choosing a password: accepting an invitation, resetting a forgotten one."""

    password = PasswordField(_l("Choose a password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class TwoFactorCodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"), validators=[Length(max=32)]
    )


def show_field_errors(form: FlaskForm, error: ValidationError) -> None:
    """Put a service's :class:`ValidationError` messages on the form's fields of the same names."""
    for name, messages in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(messages)


def load_user(user_id: str) -> User | None:
    """The session's user, while its server-side session record is live (see :mod:`saas.auth.sessions`)."""
    return signed_in_user(db.session, user_id)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: User) -> str:
    active = [m for m in user.memberships if m.is_active]  # a deactivated membership opens nothing
    if len(active) == 1:
        return url_for("core.dashboard", slug=active[0].tenant.slug)
    return url_for("site.workspaces")


@auth_pages.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        barred = password_barred_workspace(db.session, user) if user is not None else None
        if barred is not None:
            db.session.rollback()
            sso_login = url_for("sso.tenant_login", slug=barred)
            form.password.errors = [
                _("Your workspace signs in with single sign-on only: use %(link)s", link=sso_login)
            ]
        elif user is not None:
            db.session.commit()
            return finish_password_sign_in(user, safe_next(request.args.get("next")))
        else:
            form.password.errors = [_("Email or password is not right.")]
    # The form again, with its message: a 200 whatever the reason, so the status tells no more than it.
    return render_template("auth/login.html", form=form)


# -- the second step of a password sign-in -----------------------------------------------------

# The half-done sign-in: in the signed cookie but not a session (Flask-Login knows nothing of it).
_PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300
_PENDING_PURPOSE = "two-factor-pending"


def finish_password_sign_in(user: User, target: str | None) -> Response:
    """After a right password: sign in, or, when the user has two-factor on, ask for the code first."""
    if not two_factor.has_two_factor(db.session, user.id):
        login_user(user)
        return redirect(target or home_for(user))
    session[_PENDING_KEY] = {
        "u": str(user.id),
        # Tied to the password it followed: a reset in between ends the half-done sign-in too.
        "p": password_fingerprint(user, _PENDING_PURPOSE),
        "at": int(time.time()),
        "next": target,
    }
    return redirect(url_for("auth.two_factor_step"))


def _pending_user() -> tuple[User, str | None] | None:
    pending = session.get(_PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    try:
        user = db.session.get(User, uuid.UUID(pending["u"]))
    except (KeyError, ValueError, TypeError):
        return None
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(str(pending.get("p")), password_fingerprint(user, _PENDING_PURPOSE)):
        return None
    return user, safe_next(pending.get("next"))


def _code_guesser_key() -> str:
    """Rate-limit key of whoever types a code or password: the account (halfway through signing in, or
    signed in), not the address, so that guesses from many addresses still count together."""
    pending = session.get(_PENDING_KEY)
    user_id = pending.get("u") if isinstance(pending, dict) else None
    if current_user.is_authenticated:
        user_id = current_user.id
    return f"2fa-user:{user_id or request.remote_addr}"


# Per account, on every form that checks a TOTP code or a password of a known account.
limit_code_guesses = limiter.limit(
    lambda: current_app.config.get("TWO_FACTOR_RATE_LIMIT", "5 per minute;20 per hour"),
    key_func=_code_guesser_key,
    methods=["POST"],
)


@auth_pages.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limit_code_guesses
def two_factor_step():
    pending = _pending_user()
    if pending is None:
        session.pop(_PENDING_KEY, None)
        flash(_("Please sign in again."))
        return redirect(url_for("auth.login"))
    user, target = pending
    form = TwoFactorCodeForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            if two_factor.verify_sign_in_code(db.session, user, form.code.data or ""):
                db.session.commit()
                session.pop(_PENDING_KEY, None)
                login_user(user)
                return redirect(target or home_for(user))
            db.session.commit()  # the refusal's audit entry
            form.code.errors = [_(two_factor.WRONG_CODE)]
    return render_template("account/two_factor_step.html", form=form), status


@auth_pages.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


def _reset_email_key() -> str:
    """Rate-limit key of the address asked for; hashed so that Redis keys hold no address."""
    email = (request.form.get("email") or "").strip().lower()
    return "reset-email:" + hashlib.sha256(email.encode()).hexdigest()


@auth_pages.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "5 per minute;30 per hour"), methods=["POST"]
)
@limiter.limit(
    lambda: current_app.config.get("PASSWORD_RESET_EMAIL_RATE_LIMIT", "3 per hour"),
    key_func=_reset_email_key,
    methods=["POST"],
)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            email = normalise_email(form.email.data)
        except ValidationError as error:
            form.email.errors = error.errors["email"]
        else:
            # The same page, mail or not: whether an address has an account is not said here.
            password_reset.request_password_reset(find_user_by_email(db.session, email), request.url_root)
            return render_template("auth/reset_requested.html")
    return render_template("auth/forgot_password.html", form=form), 200 if request.method == "GET" else 400


@auth_pages.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reset_password(token: str):
    user = password_reset.read_reset_token(db.session, token)
    if password_barred_workspace(db.session, user) is not None:
        raise password_reset.SsoOnly(password_reset.SSO_ONLY)
    form = NewPasswordForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                password_reset.reset_password(db.session, user, form.password.data)
            except ValidationError as error:
                db.session.rollback()
                form.password.errors = [m for messages in error.errors.values() for m in messages]
                status = 422
            else:
                db.session.commit()
                password_reset.notify_password_changed(user, request.url_root)
                logout_user()  # this browser's session was revoked with the others: clear its cookie too
                flash(_("Your password was changed, and every other browser was signed out. Sign in now."))
                return redirect(url_for("auth.login"))
    response = current_app.make_response((render_template("auth/reset_password.html", form=form), status))
    # The token is in this page's address: hand it on to no other site. (Not "no-referrer": over HTTPS
    # the CSRF check wants this site's own Referer on the form's POST.)
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@auth_pages.app_context_processor
def _identity():
    return {"current_user": current_user}
