"""Input and output schemas of contacts and accounts; the API documents and validates with them,
and pages validate their forms with the same ones."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from saas.api.serialization import CompiledDumpSchema
from saas.i18n import N_
from saas.modules.core.activities import LOGGED_KINDS, SYSTEM_KIND
from saas.modules.core.emails import EmailNotValidError, check_email


def score_floor(**options: Any) -> fields.Integer:
    """A list filter "score at least N": rule points and a predicted % both lie in 0..100."""
    return fields.Integer(load_default=None, validate=validate.Range(min=0, max=100), **options)


def page_of(item: type[Schema]) -> type[Schema]:
    """The schema of one page of a list of ``item``: ``data`` and the ``next_cursor`` to the next page."""
    name = item.__name__.removesuffix("Out") + "Page"
    # Pages are the API's largest answers: dumped through a compiled plan (the same output).
    return CompiledDumpSchema.from_dict(
        {"data": fields.List(fields.Nested(item)), "next_cursor": fields.String(allow_none=True)}, name=name
    )


def list_of(item: type[Schema], name: str | None = None) -> type[Schema]:
    """The schema of a whole (short, unpaged) list of ``item``: its ``data``."""
    name = name or item.__name__.removesuffix("Out") + "List"
    return CompiledDumpSchema.from_dict({"data": fields.List(fields.Nested(item))}, name=name)


def _valid_email(value: str) -> None:
    # validate_email(value, check_deliverability=False)'s verdict and message, each domain checked once.
    try:
        check_email(value)
    except EmailNotValidError as error:
        raise ValidationError(str(error)) from error


class CleanInput(Schema):
    """Strips text, turns empty strings into null and refuses unknown fields."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip() or None
            cleaned[key] = value
        return cleaned


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


class AccountIn(CleanInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    domain = _text(253)
    industry = _text(100)
    phone = _text(40)
    notes = _text(10_000)
    custom_fields = fields.Dict(
        keys=fields.String(), metadata={"description": "Values of the workspace's custom fields, by key."}
    )


class ContactIn(CleanInput):
    first_name = _text(100)
    last_name = _text(100)
    email = fields.String(allow_none=True, validate=[validate.Length(max=254), _valid_email])
    phone = _text(40)
    title = _text(100)
    account_id = fields.UUID(allow_none=True)
    notes = _text(10_000)
    custom_fields = fields.Dict(
        keys=fields.String(), metadata={"description": "Values of the workspace's custom fields, by key."}
    )

    noun = "contact"  # a schema for another kind of person (a lead) names it in the message below

    @validates_schema
    def _needs_a_name(self, data, partial=None, **kwargs):
        # On PATCH the stored record decides; the service checks the merged result.
        if not partial and not (data.get("first_name") or data.get("last_name")):
            raise ValidationError(N_("Enter a first or a last name."), "last_name")


class DuplicateOut(Schema):
    id = fields.UUID()
    name = fields.String()
    reasons = fields.List(fields.String(), metadata={"description": "same email, same phone..."})


class MatchOut(DuplicateOut):
    kind = fields.String(metadata={"description": "The other record's kind: contact..."})


def _possible_duplicates() -> fields.List:
    return fields.List(
        fields.Nested(DuplicateOut),
        metadata={"description": "Likely duplicates (on a single record's answers, not in lists); "
                  "merge one with `POST .../<id>/merge`.", "sometimes_answered": True},
    )  # fmt: skip


class RecordOut(Schema):
    id = fields.UUID()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    custom_fields = fields.Dict(metadata={"description": "Values of the workspace's custom fields, by key."})


class AccountOut(RecordOut):
    name = fields.String()
    domain = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    possible_duplicates = _possible_duplicates()


class ContactOut(RecordOut):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    notes = fields.String(allow_none=True)
    rule_score = fields.Integer(
        allow_none=True, metadata={"description": "Rule points 0..100 (hourly scoring); null: not yet."}
    )
    score_factors = fields.Dict(
        keys=fields.String(), values=fields.Integer(), allow_none=True,
        metadata={"description": "The points behind `rule_score` by feature (`has_phone`, `activities`, "
                  "`website_visits`, `email_engagement`...); features that earned none are left out."},
    )  # fmt: skip
    possible_duplicates = _possible_duplicates()


class ListQuery(Schema):
    class Meta:
        unknown = RAISE

    q = fields.String(validate=validate.Length(max=200), load_default=None)
    cursor = fields.String(validate=validate.Length(max=500), load_default=None)
    limit = fields.Integer(validate=validate.Range(min=1, max=200), load_default=50)
    sort = fields.String(
        validate=validate.Length(max=70), load_default=None,
        metadata={"description": "Another order than the list's own: a field name (`created_at`, `name`...) "
                  "or `cf_<key>` of a custom field; `-` first for descending. Empty values come last."},
    )  # fmt: skip
    custom = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=None,
        metadata={"description": "Filters on custom fields, given as `cf_<key>=<value>` parameters."},
    )  # fmt: skip

    @pre_load
    def _custom_filters(self, data, **kwargs):
        # ``cf_<key>=<value>`` parameters filter on custom fields: equality, "contains" for a multi select.
        custom = {name.removeprefix("cf_"): data[name] for name in data if name.startswith("cf_")}
        plain = {name: data[name] for name in data if not name.startswith("cf_")}
        return {**plain, "custom": custom} if custom else plain


class ContactListQuery(ListQuery):
    min_rule_score = score_floor(metadata={"description": "Contacts with at least these rule points."})


class ContactFilters(Schema):
    """The contacts page's filters (the API's are in :class:`ContactListQuery`)."""

    class Meta:
        unknown = RAISE

    min_rule_score = score_floor()


AccountPage = page_of(AccountOut)


ContactPage = page_of(ContactOut)


class ActivityIn(CleanInput):
    kind = fields.String(required=True, validate=validate.OneOf(LOGGED_KINDS))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = _text(10_000)
    occurred_at = fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    contact_id = fields.UUID(allow_none=True)
    account_id = fields.UUID(allow_none=True)


class ActivityOut(Schema):
    id = fields.UUID()
    kind = fields.String()
    subject = fields.String()
    body = fields.String(allow_none=True)
    occurred_at = fields.DateTime()
    contact_id = fields.UUID(allow_none=True)
    account_id = fields.UUID(allow_none=True)
    subject_type = fields.String(allow_none=True)
    subject_id = fields.UUID(allow_none=True)
    actor_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()


class ActivityListQuery(ListQuery):
    contact_id = fields.UUID(load_default=None, metadata={"description": "The contact's whole timeline."})
    account_id = fields.UUID(load_default=None, metadata={"description": "The account's whole timeline."})
    kind = fields.String(load_default=None, validate=validate.OneOf((*LOGGED_KINDS, SYSTEM_KIND)))


ActivityPage = page_of(ActivityOut)
