"""Pages for identity: a workspace's own sign-in page with single sign-on, the provider's callback,
invitation links, and the admin's SSO and sign-in security settings and members pages
(/t/<slug>/settings/...)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, user_logged_in, user_logged_out
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.auth import members, two_factor
from saas.auth.account_views import account_pages
from saas.auth.members import ROLE_NAMES
from saas.auth.models import ROLES, Membership
from saas.auth.services import authenticate, find_user_by_email, membership_for
from saas.auth.sessions import end_current_session, open_session
from saas.auth.sso import (
    JIT_ROLES,
    PendingLogin,
    SsoRefused,
    active_sso_config,
    admit_sso_user,
    audit_refusal,
    begin_login,
    complete_login,
    get_sso_config,
    save_sso_config,
    sso_required,
)
from saas.auth.views import LoginForm, NewPasswordForm, finish_password_sign_in, show_field_errors
from saas.billing.entitlements import allowed_when_read_only
from saas.db import TenantRef, db
from saas.errors import NotFound, SaasError, ValidationError
from saas.extensions import limiter
from saas.i18n import N_, translate
from saas.tenants.models import Tenant
from saas.tenants.routing import install_tenant_page_routing, register_tenant_guard, require_role

sso_pages = Blueprint("sso", __name__, template_folder="templates")
identity_admin = Blueprint("identity", __name__, template_folder="templates")

ADMIN_ROLES = ("owner", "admin")
# The tenant whose identity provider opened this browser session, if one did.
SSO_TENANT_KEY = "sso_tenant"
_PENDING_KEY = "sso_pending"


# -- sessions opened by a provider -------------------------------------------------------------


def _forget_sso_tenant(*args: object, **kwargs: object) -> None:
    session.pop(SSO_TENANT_KEY, None)


def sso_session_guard(tenant: TenantRef, membership: Membership) -> None:
    """A provider-opened session enters only its own workspace; an SSO-required workspace only such a session.

    API requests carry their own token and are not concerned.
    """
    if not request.path.startswith("/t/"):
        return
    vouched_for = session.get(SSO_TENANT_KEY)
    if vouched_for == tenant.id:
        return
    if vouched_for is not None or sso_required(db.session, tenant.id):
        flash(_("Please sign in to this workspace."))
        abort(redirect(url_for("sso.tenant_login", slug=tenant.slug)))


def two_factor_guard(tenant: TenantRef, membership: Membership) -> None:
    """In a workspace that requires two-factor for password sign-ins, a member without it is sent to
    enroll before any of its pages opens. A session its own identity provider opened is not concerned."""
    if not request.path.startswith("/t/") or session.get(SSO_TENANT_KEY) == tenant.id:
        return
    if two_factor.two_factor_required(db.session, tenant.id) and not two_factor.has_two_factor(
        db.session, membership.user_id
    ):
        flash(_("This workspace requires two-factor sign-in: set it up to continue."))
        abort(redirect(url_for("account.enable_two_factor", next=request.full_path)))


# -- a workspace's sign-in page ----------------------------------------------------------------


def _tenant_by_slug(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        abort(404)
    return tenant


def _callback_url(slug: str) -> str:
    return url_for("sso.callback", slug=slug, _external=True)


def _login_page(tenant: Tenant, form: LoginForm, status: int = 200, error: str | None = None):
    config = active_sso_config(db.session, tenant.id)
    return render_template(
        "identity/tenant_login.html",
        tenant=tenant,
        form=form,
        sso=config is not None,
        required=bool(config and config.sso_required),
        error=error,
    ), status


@sso_pages.route("/t/<slug>/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def tenant_login(slug: str):
    tenant = _tenant_by_slug(slug)
    form = LoginForm()
    if request.method == "GET":
        return _login_page(tenant, form)
    if sso_required(db.session, tenant.id):
        return _login_page(tenant, form, 403, _("This workspace signs in with single sign-on only."))
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is not None and membership_for(db.session, user.id, slug) is not None:
            db.session.commit()
            return finish_password_sign_in(user, url_for("core.dashboard", slug=slug))
        db.session.rollback()
        form.password.errors = [_("Email or password is not right.")]
    return _login_page(tenant, form)  # a 200 for every reason, as at /login


# A POST with the CSRF token: a foreign page must not start a sign-in (login CSRF).
@sso_pages.route("/t/<slug>/login/sso", methods=["POST"])
def start_sso(slug: str):
    tenant = _tenant_by_slug(slug)
    config = active_sso_config(db.session, tenant.id)
    if config is None:
        abort(404)
    try:
        url, pending = begin_login(config, _callback_url(slug), invitation=request.form.get("invitation"))
    except SsoRefused as refusal:
        return _login_page(tenant, LoginForm(), 502, translate(refusal.detail))
    session[_PENDING_KEY] = pending.as_dict()
    return redirect(url)


@sso_pages.route("/t/<slug>/login/callback")
def callback(slug: str):
    tenant = _tenant_by_slug(slug)
    config = active_sso_config(db.session, tenant.id)
    if config is None:
        abort(404)
    # Popped whatever happens: a state is good for one answer only.
    pending = PendingLogin.from_dict(session.pop(_PENDING_KEY, None))
    try:
        claims = complete_login(config, pending, request.args.to_dict(), _callback_url(slug))
        user = admit_sso_user(db.session, config, claims, invitation_token=pending and pending.invitation)
    except SsoRefused as refusal:
        db.session.rollback()
        audit_refusal(db.session, tenant.id, refusal)
        db.session.commit()
        return _login_page(tenant, LoginForm(), 403, translate(refusal.detail))
    db.session.commit()
    login_user(user)  # its signal forgets an earlier provider's tenant; this one is set next
    session[SSO_TENANT_KEY] = tenant.id
    return redirect(url_for("core.dashboard", slug=slug))


# -- invitations -------------------------------------------------------------------------------


@sso_pages.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def invitation(token: str):
    invite = members.open_invitation(db.session, token)
    if invite is None:
        raise NotFound(
            N_("This invitation is not valid any more (used, withdrawn or expired). Ask for a new one.")
        )
    tenant = invite.tenant
    config = active_sso_config(db.session, tenant.id)
    has_account = find_user_by_email(db.session, invite.email) is not None
    signed_in_as_invitee = current_user.is_authenticated and current_user.email == invite.email
    may_set_password = not has_account and not (config and config.sso_required)
    form = NewPasswordForm() if may_set_password else FlaskForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit() and (signed_in_as_invitee or may_set_password):
            try:
                user = members.accept_invitation(
                    db.session,
                    invite,
                    user=current_user if signed_in_as_invitee else None,
                    email=invite.email,
                    password=None if signed_in_as_invitee else form.password.data,
                )
            except ValidationError as error:
                db.session.rollback()
                form.password.errors = [translate(m) for messages in error.errors.values() for m in messages]
            else:
                db.session.commit()
                if not signed_in_as_invitee:
                    login_user(user)
                flash(_("Welcome to %(workspace)s.", workspace=tenant.name))
                return redirect(url_for("core.dashboard", slug=tenant.slug))
        elif not (signed_in_as_invitee or may_set_password):
            status = 403
    return render_template(
        "identity/invitation.html",
        invitation=invite,
        tenant=tenant,
        token=token,
        form=form,
        sso=config is not None,
        has_account=has_account,
        signed_in_as_invitee=signed_in_as_invitee,
        may_set_password=may_set_password,
    ), status


# -- admin: single sign-on settings ------------------------------------------------------------


def _role_name(role: str) -> str:
    """A role as a person reads it, in the page's language (the value sent stays the role's key)."""
    return _l(ROLE_NAMES.get(role, role))


class SsoForm(FlaskForm):
    issuer = StringField(_l("Issuer URL"), validators=[DataRequired(), Length(max=500)])
    client_id = StringField(_l("Client ID"), validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField(_l("Client secret"), validators=[Length(max=2000)])
    allowed_domains = TextAreaField(_l("Email domains that may join"), validators=[Length(max=5000)])
    default_role = SelectField(_l("Role of people who join"), choices=[(r, _role_name(r)) for r in JIT_ROLES])
    enabled = BooleanField(_l("Single sign-on is on"))
    sso_required = BooleanField(_l("Require single sign-on (no passwords)"))


class SignInSecurityForm(FlaskForm):
    require_two_factor = BooleanField(_l("Require two-factor sign-in for password sign-ins"))


@identity_admin.before_request
def _admins_only() -> None:
    require_role(*ADMIN_ROLES)


def _sso_page(form: SsoForm, status: int = 200, security_form: SignInSecurityForm | None = None):
    config = get_sso_config(db.session, g.tenant.id)
    if security_form is None:
        required = two_factor.two_factor_required(db.session, g.tenant.id)
        security_form = SignInSecurityForm(formdata=None, data={"require_two_factor": required})
    return render_template(
        "identity/sso_settings.html",
        form=form,
        security_form=security_form,
        config=config,
        callback_url=_callback_url(g.tenant.slug),
        login_url=url_for("sso.tenant_login", slug=g.tenant.slug, _external=True),
    ), status


@identity_admin.route("/settings/security", methods=["POST"])
@allowed_when_read_only
def sign_in_security():
    form = SignInSecurityForm()
    if not form.validate_on_submit():
        config = get_sso_config(db.session, g.tenant.id)
        return _sso_page(SsoForm(formdata=None, data=_sso_form_data(config)), 400, form)
    two_factor.set_two_factor_required(
        db.session, g.tenant.id, form.require_two_factor.data, actor=str(current_user.id)
    )
    db.session.commit()
    flash(
        _("Two-factor sign-in is now required for password sign-ins.")
        if form.require_two_factor.data
        else _("Two-factor sign-in is no longer required.")
    )
    return redirect(url_for("identity.sso_settings"))


@identity_admin.route("/settings/sso", methods=["GET", "POST"])
@allowed_when_read_only  # who may sign in is a security setting, not a paid feature
def sso_settings():
    config = get_sso_config(db.session, g.tenant.id)
    form = SsoForm(data=_sso_form_data(config) if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                save_sso_config(
                    db.session,
                    g.tenant.id,
                    issuer=form.issuer.data,
                    client_id=form.client_id.data,
                    client_secret=form.client_secret.data or "",
                    allowed_domains=form.allowed_domains.data or "",
                    default_role=form.default_role.data,
                    sso_required=form.sso_required.data,
                    enabled=form.enabled.data,
                    actor=str(current_user.id),
                )
            except ValidationError as error:
                db.session.rollback()
                show_field_errors(form, error)
                status = 422
            else:
                db.session.commit()
                flash(_("Single sign-on settings saved."))
                return redirect(url_for("identity.sso_settings"))
    return _sso_page(form, status)


def _sso_form_data(config) -> dict:
    if config is None:
        return {"enabled": True, "default_role": "member"}
    return {
        "issuer": config.issuer,
        "client_id": config.client_id,
        "allowed_domains": "\n".join(config.allowed_domains or []),
        "default_role": config.default_role,
        "enabled": config.enabled,
        "sso_required": config.sso_required,
    }


# -- admin: members ----------------------------------------------------------------------------


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter an email address.")), Length(max=254)])
    role = SelectField(_l("Role"), choices=[(r, _role_name(r)) for r in ROLES], default="member")


def _members_page(status: int = 200, error: str | None = None, form: InviteForm | None = None):
    return render_template(
        "identity/members.html",
        members=members.list_members(db.session, g.tenant.id),
        invitations=members.list_open_invitations(db.session, g.tenant.id),
        form=form or InviteForm(formdata=None),
        roles=ROLES,
        me=g.membership,
        error=error,
    ), status


@identity_admin.route("/settings/members")
def members_page():
    return _members_page()


def _act(change: Callable[[], object], done: str):
    """Run one member change in the request's transaction; a refusal is shown on the page."""
    if not FlaskForm().validate_on_submit():
        return _members_page(400, _("The form has expired. Please try again."))
    try:
        change()
    except SaasError as error:
        db.session.rollback()
        return _members_page(error.status, translate(error.detail))
    db.session.commit()
    flash(done)
    return redirect(url_for("identity.members_page"))


@identity_admin.route("/settings/members/invite", methods=["POST"])
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(400, _("Enter an email address and a role."), form)
    try:
        invite, token = members.invite(db.session, g.membership, form.email.data, form.role.data)
    except ValidationError as error:
        db.session.rollback()
        show_field_errors(form, error)
        return _members_page(422, translate(error.detail), form)
    except SaasError as error:
        db.session.rollback()
        return _members_page(error.status, translate(error.detail), form)
    db.session.commit()
    link = url_for("sso.invitation", token=token, _external=True)
    if members.mail_invitation(invite, _tenant_name(), link):
        flash(_("Invitation sent to %(email)s.", email=invite.email))
    else:
        flash(_("Mail is not configured on this server: the invitation was saved but not sent."))
    return redirect(url_for("identity.members_page"))


def _tenant_name() -> str:
    return db.session.get(Tenant, g.tenant.id).name


@identity_admin.route("/settings/members/<uuid:membership_id>/role", methods=["POST"])
@allowed_when_read_only
def change_role(membership_id: uuid.UUID):
    role = request.form.get("role", "")
    return _act(
        lambda: members.change_role(db.session, g.membership, membership_id, role), _("Role changed.")
    )


@identity_admin.route("/settings/members/<uuid:membership_id>/deactivate", methods=["POST"])
@allowed_when_read_only
def deactivate(membership_id: uuid.UUID):
    return _act(
        lambda: members.set_active(db.session, g.membership, membership_id, False), _("Member deactivated.")
    )


@identity_admin.route("/settings/members/<uuid:membership_id>/reactivate", methods=["POST"])
@allowed_when_read_only
def reactivate(membership_id: uuid.UUID):
    return _act(
        lambda: members.set_active(db.session, g.membership, membership_id, True), _("Member reactivated.")
    )


@identity_admin.route("/settings/members/<uuid:membership_id>/remove", methods=["POST"])
@allowed_when_read_only
def remove(membership_id: uuid.UUID):
    return _act(lambda: members.remove_member(db.session, g.membership, membership_id), _("Member removed."))


@identity_admin.route("/settings/invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@allowed_when_read_only
def revoke_invitation(invitation_id: uuid.UUID):
    return _act(
        lambda: members.revoke_invitation(db.session, g.membership, invitation_id), _("Invitation withdrawn.")
    )


def register_identity_pages(app: Flask) -> None:
    """Blueprints, the session guards and the sign-in signal hooks of this package."""
    app.register_blueprint(sso_pages)
    app.register_blueprint(account_pages)
    install_tenant_page_routing(identity_admin)
    app.register_blueprint(identity_admin, url_prefix="/t/<slug>")
    register_tenant_guard(sso_session_guard)
    register_tenant_guard(two_factor_guard)
    user_logged_in.connect(_forget_sso_tenant)
    user_logged_in.connect(open_session)
    user_logged_out.connect(_forget_sso_tenant)
    user_logged_out.connect(end_current_session)
