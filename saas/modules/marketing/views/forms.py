"""Marketing form pages: fields, consent, lead creation, the embeddable public form."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.i18n import translate
from saas.modules.marketing import forms
from saas.modules.marketing.blueprints import pages
from saas.modules.privacy.consent import list_purposes
from saas.tenants.routing import current_tenant_session

NEW_FORM = {"fields": ["first_name", "last_name", "email"], "create_lead": True, "enabled": True}


def _form_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "fields": request.form.getlist("fields"),
        "purposes": request.form.getlist("purposes"),
        "create_lead": request.form.get("create_lead") == "1",
        "thank_you": request.form.get("thank_you", ""),
        "enabled": request.form.get("enabled") == "1",
    }


def _render_form(form, *, errors=None, message=None, data=None, status=200):
    session = current_tenant_session()
    public_url = count = None
    if form is not None:
        token = forms.form_token(session.tenant.id, form.id)
        public_url = url_for(
            "marketing_public.show_form", slug=session.tenant.slug, token=token, _external=True
        )
        count = forms.submission_count(session, form.id)
    return render_template(
        "marketing/form.html",
        form=form,
        data=data or (forms._as_data(form) if form else NEW_FORM),
        all_fields=forms.FORM_FIELDS,
        purposes=list_purposes(session),
        errors=errors or {},
        message=message,
        public_url=public_url,
        submissions=count,
    ), status


@pages.get("/marketing/forms")
def list_forms():
    return render_template(
        "marketing/forms.html", forms=forms.list_forms(current_tenant_session()), all_fields=forms.FORM_FIELDS
    )


@pages.get("/marketing/forms/new")
def new_form():
    return _render_form(None)


@pages.post("/marketing/forms/new")
def create_form():
    try:
        form = forms.create_form(current_tenant_session(), _form_data())
    except ValidationError as error:
        return _render_form(
            None, errors=error.errors, message=translate(error.detail), data=_form_data(), status=422
        )
    flash(gettext("Form saved."))
    return redirect(url_for("marketing.show_form", marketing_form_id=form.id))


@pages.get("/marketing/forms/<uuid:marketing_form_id>")
def show_form(marketing_form_id: uuid.UUID):
    return _render_form(forms.get_form(current_tenant_session(), marketing_form_id))


@pages.post("/marketing/forms/<uuid:marketing_form_id>")
def update_form(marketing_form_id: uuid.UUID):
    session = current_tenant_session()
    form = forms.get_form(session, marketing_form_id)
    try:
        forms.update_form(session, form.id, _form_data())
    except ValidationError as error:
        session.rollback()
        return _render_form(
            forms.get_form(session, marketing_form_id),
            errors=error.errors,
            message=translate(error.detail),
            data=_form_data(),
            status=422,
        )
    flash(gettext("Form saved."))
    return redirect(url_for("marketing.show_form", marketing_form_id=form.id))
