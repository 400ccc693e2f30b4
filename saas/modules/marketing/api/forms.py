"""``/api/v1/marketing/forms``: marketing forms and their public address."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for

from saas.api import token_auth
from saas.modules.marketing import forms
from saas.modules.marketing.blueprints import api
from saas.modules.marketing.schemas import (
    FormIn,
    FormList,
    FormOut,
)
from saas.tenants.routing import current_tenant_session

P = "/marketing"


def _form_out(form: Any) -> dict[str, Any]:
    session = current_tenant_session()
    token = forms.form_token(session.tenant.id, form.id)
    url = url_for("marketing_public.show_form", slug=session.tenant.slug, token=token, _external=True)
    return {**{c: getattr(form, c) for c in FormOut().fields if c != "public_url"}, "public_url": url}


@api.get(f"{P}/forms")
@api.auth_required(token_auth)
@api.output(FormList)
@api.doc(summary="List lead-capture forms")
def list_forms():
    return {"data": [_form_out(f) for f in forms.list_forms(current_tenant_session())]}


@api.post(f"{P}/forms")
@api.auth_required(token_auth)
@api.input(FormIn)
@api.output(FormOut, status_code=201)
@api.doc(summary="Create a lead-capture form", responses=[422])
def create_form(json_data: dict):
    return _form_out(forms.create_form(current_tenant_session(), json_data))


@api.get(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.output(FormOut)
@api.doc(summary="Read a form, with its public link", responses=[404])
def get_form(marketing_form_id: uuid.UUID):
    return _form_out(forms.get_form(current_tenant_session(), marketing_form_id))


@api.patch(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.input(FormIn(partial=True))
@api.output(FormOut)
@api.doc(summary="Update a form", responses=[404, 422])
def update_form(marketing_form_id: uuid.UUID, json_data: dict):
    return _form_out(forms.update_form(current_tenant_session(), marketing_form_id, json_data))


@api.delete(f"{P}/forms/<uuid:marketing_form_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a form", responses=[404])
def delete_form(marketing_form_id: uuid.UUID):
    forms.delete_form(current_tenant_session(), marketing_form_id)
    return ""
