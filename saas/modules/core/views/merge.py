"""The merge screen of contacts, accounts and leads: both records side by side, a winner per field.

``/<plural>/<id>/merge?with=<other id>`` compares; posting merges the other record into ``<id>``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, after_this_request, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.db import db
from saas.errors import Conflict, NotFound, SaasError, ValidationError
from saas.i18n import N_
from saas.modules.core import custom_fields
from saas.modules.core.merge import (
    ACCOUNT_KIND,
    CONTACT_KIND,
    MergeKind,
    merge_kind,
    merge_records,
)
from saas.modules.core.views.records import ACCOUNT_PAGES, CONTACT_PAGES, RecordPages, pages
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import current_tenant_session, require_role

# The reasons duplicates.py gives for a likely duplicate, marked here for the catalogs: the merge screen
# shows them through ``translate``.
DUPLICATE_REASONS = (
    N_("same email"),
    N_("same phone"),
    N_("similar name, same company"),
    N_("similar name, same email domain"),
    N_("same web domain"),
    N_("same name"),
)


def commit_audit_on_success() -> None:
    """The merge's audit entry (platform session) commits only with a successful answer."""

    def commit(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    after_this_request(commit)


def admin_change_session():
    """The session of an owner's or admin's change through the API (definitions of fields and objects),
    whose audit entries commit only with a successful answer."""
    require_role(*ADMIN_ROLES)
    commit_audit_on_success()
    return current_tenant_session()


def run_admin_change(
    action: Callable[[], str], rerender: Callable[[SaasError], Any], done_endpoint: str
) -> Any:
    """One owner's or admin's change on a settings page: flash its outcome and go back to the page, or
    re-render the page with the reason (its transaction rolled back, so nothing is written)."""
    require_role(*ADMIN_ROLES)
    try:
        outcome = action()
    except (ValidationError, Conflict, NotFound) as error:
        return rerender(error)
    commit_audit_on_success()
    flash(outcome)
    return redirect(url_for(done_endpoint))


def possible_duplicates(noun: str, record: Any) -> list | None:
    """For record pages: the record's likely duplicates, or None for a kind that cannot merge."""
    kind = merge_kind(noun)
    return None if kind is None else kind.duplicates(current_tenant_session(), record.id)


def matching_records(noun: str, record: Any) -> list[dict[str, Any]]:
    """For record pages: the likely same records of other kinds (a lead's existing contacts)."""
    kind = merge_kind(noun)
    return [] if kind is None else kind.matching_records(current_tenant_session(), record.id)


def _shown(kind: MergeKind, record: Any, custom: dict[str, Any]) -> dict[str, Any]:
    shown = {f.name: (f.show(record) if f.show else getattr(record, f.name)) for f in kind.fields}
    for key, value in custom.items():
        shown[f"{custom_fields.PREFIX}{key}"] = ", ".join(value) if isinstance(value, list) else value
    return shown


def _rows(kind: MergeKind, session: Any) -> list[tuple[str, str]]:
    """(name, label) of every field the merge screen compares: the record's own, then its custom fields."""
    custom = custom_fields.list_fields(session, kind.model.__tablename__)
    return [(f.name, f.label) for f in kind.fields] + [
        (f"{custom_fields.PREFIX}{custom_fields.key_of(d)}", d.label) for d in custom
    ]


def _merge_page(pages_of: RecordPages, kind: MergeKind, record_id: uuid.UUID):
    session = current_tenant_session()
    record = pages_of.service.get(session, record_id)
    other_param = request.form.get("other_id") if request.method == "POST" else request.args.get("with")
    if not other_param:
        return render_template(
            "core/merge.html", pages=pages_of, kind=kind, record=record, other=None,
            candidates=kind.duplicates(session, record.id),
        )  # fmt: skip
    try:
        other = pages_of.service.get(session, uuid.UUID(other_param))  # unknown: a 404
    except ValueError as error:
        raise NotFound(N_("No record with id %(id)s.", id=other_param)) from error
    rows = _rows(kind, session)
    choices = {name: request.form.get(f"field_{name}", "") for name, _ in rows}
    message, status = None, 200
    if request.method == "POST":
        other_name = kind.describe(other)  # the record is gone once merged
        try:
            merge_records(session, kind, record.id, other.id, {k: v for k, v in choices.items() if v})
        except (ValidationError, Conflict) as error:
            message, status = error.detail, error.status
        else:
            commit_audit_on_success()
            flash(gettext(kind.merged_message, name=other_name))
            return redirect(url_for(pages_of.endpoint("show"), record_id=record.id))
    stored = custom_fields.read_values(session, kind.model.__tablename__, [record.id, other.id])
    mine, theirs = (
        _shown(kind, record, stored.get(record.id, {})),
        _shown(kind, other, stored.get(other.id, {})),
    )
    if request.method != "POST":
        choices = {
            name: "other" if mine.get(name) in (None, "") and theirs.get(name) not in (None, "") else "this"
            for name, _ in rows
        }
    return render_template(
        "core/merge.html", pages=pages_of, kind=kind, record=record, other=other, choices=choices,
        rows=rows, mine=mine, theirs=theirs, message=message,
    ), status  # fmt: skip


def register_merge_pages(blueprint: Blueprint, pages_of: RecordPages, kind: MergeKind) -> None:
    """``merge_<plural>`` on ``blueprint``, beside the record pages of ``pages_of``."""
    plural = pages_of.plural
    blueprint.add_url_rule(
        f"/{plural}/<uuid:record_id>/merge",
        f"merge_{plural}",
        lambda record_id: _merge_page(pages_of, kind, record_id),
        methods=["GET", "POST"],
    )


def install_merge_pages(blueprint: Blueprint) -> None:
    """Record pages of every blueprint show likely duplicates (``possible_duplicates`` in templates)."""
    blueprint.app_context_processor(
        lambda: {"possible_duplicates": possible_duplicates, "matching_records": matching_records}
    )


install_merge_pages(pages)
register_merge_pages(pages, CONTACT_PAGES, CONTACT_KIND)
register_merge_pages(pages, ACCOUNT_PAGES, ACCOUNT_KIND)
