"""Sign-in and sign-out pages."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from saas.auth.models import User
from saas.auth.services import authenticate
from saas.auth.sso import password_barred_workspace
from saas.db import db
from saas.extensions import limiter

auth_pages = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None


def _safe_next(target: str | None) -> str | None:
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
            form.password.errors = [f"Your workspace signs in with single sign-on only: use {sso_login}"]
        elif user is not None:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        else:
            form.password.errors = ["Email or password is not right."]
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@auth_pages.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@auth_pages.app_context_processor
def _identity():
    return {"current_user": current_user}
