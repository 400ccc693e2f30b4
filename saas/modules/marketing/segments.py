"""Segments: saved audiences of contacts, by rules (re-evaluated at every use) or as static lists.

A rule is ``{"field": ..., "op": ..., "value": ...}``; :func:`audience_query` turns a segment into one
SQL query of contact ids, so counting 100,000 contacts is one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, false, func, not_, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.marketing.models import SEGMENT_KINDS, Segment, SegmentMember
from saas.modules.privacy.models import ConsentEvent, ConsentPurpose
from saas.modules.registry import registry
from saas.modules.sfa.models import Deal, DealContact, Stage

PREVIEW_LIMIT = 20
MAX_RULES = 30
TEXT_OPS = ("equals", "not_equals", "contains", "starts_with", "is_set", "is_not_set")
TEXT_FIELDS = {
    "first_name": Contact.first_name,
    "last_name": Contact.last_name,
    "email": Contact.email,
    "title": Contact.title,
    "phone": Contact.phone,
    "account_name": Account.name,
    "account_industry": Account.industry,
    "account_domain": Account.domain,
}
CONSENT_STATES = ("granted", "withdrawn", "pending", "none")
LIFECYCLE_STAGES = ("customer", "opportunity", "contact")
RECENCY_OPS = ("within_days", "not_within_days")
FIELDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(TEXT_FIELDS, TEXT_OPS),
    "created": RECENCY_OPS,
    "activity": RECENCY_OPS,
    "deal_stage": ("equals", "not_equals"),
    "lifecycle_stage": ("equals", "not_equals"),
    "consent_email_marketing": ("equals", "not_equals"),
}
"""Each field a rule may test, with the operators it takes."""


def _text_condition(column: Any, op: str, value: str) -> ColumnElement[bool]:
    lowered = func.lower(column)
    value = value.lower()
    conditions = {
        "equals": lambda: lowered == value,
        "not_equals": lambda: or_(column.is_(None), lowered != value),
        "contains": lambda: lowered.contains(value, autoescape=True),
        "starts_with": lambda: lowered.startswith(value, autoescape=True),
        "is_set": lambda: and_(column.is_not(None), column != ""),
        "is_not_set": lambda: or_(column.is_(None), column == ""),
    }
    return conditions[op]()


def _recent(column: Any, op: str, days: int, now: datetime) -> ColumnElement[bool]:
    since = now - timedelta(days=days)
    return column >= since if op == "within_days" else column < since


def _activity_since(op: str, days: int, now: datetime) -> ColumnElement[bool]:
    recent = exists().where(
        Activity.contact_id == Contact.id, Activity.occurred_at >= now - timedelta(days=days)
    )
    return recent if op == "within_days" else not_(recent)


def _on_deal(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(DealContact.contact_id == Contact.id, DealContact.deal_id == Deal.id, *conditions)


def _deal_stage(value: str) -> ColumnElement[bool]:
    return _on_deal(Deal.stage_id == Stage.id, func.lower(Stage.name) == value.lower(), Deal.status == "open")


def _lifecycle(value: str) -> ColumnElement[bool]:
    customer = _on_deal(Deal.status == "won")
    opportunity = and_(_on_deal(Deal.status == "open"), not_(customer))
    return {
        "customer": customer,
        "opportunity": opportunity,
        "contact": and_(not_(customer), not_(opportunity)),
    }[value]


def _consent(value: str) -> ColumnElement[bool]:
    """The contact's latest email-marketing event has this status (``none``: never asked)."""
    latest = (
        select(ConsentEvent.status)
        .join(ConsentPurpose, ConsentPurpose.id == ConsentEvent.purpose_id)
        .where(ConsentEvent.contact_id == Contact.id, ConsentPurpose.key == "email_marketing")
        .order_by(ConsentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return latest.is_(None) if value == "none" else latest == value


def rule_fields() -> dict[str, tuple[str, ...]]:
    """Every field a rule may test, with its operators: ours, then those other modules declare."""
    return FIELDS | {key: tuple(op for op, _ in f.ops) for key, f in registry.segment_fields().items()}


def _rule_condition(rule: dict[str, Any], now: datetime) -> ColumnElement[bool]:
    field, op, value = rule["field"], rule["op"], rule.get("value")
    declared = registry.segment_fields().get(field)
    if declared is not None:
        return declared.condition(op, value, now)
    if field in TEXT_FIELDS:
        return _text_condition(TEXT_FIELDS[field], op, value or "")
    if field == "created":
        return _recent(Contact.created_at, op, int(value), now)
    if field == "activity":
        return _activity_since(op, int(value), now)
    builders: dict[str, Callable[[str], ColumnElement[bool]]] = {
        "deal_stage": _deal_stage,
        "lifecycle_stage": _lifecycle,
        "consent_email_marketing": _consent,
    }
    condition = builders[field](value)
    return condition if op == "equals" else not_(condition)


def _rule_errors(rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return ["A rule is an object with field, op and value."]
    field, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    fields = rule_fields()
    if field not in fields:
        return [N_("Unknown field; use one of: %(choices)s.", choices=", ".join(fields))]
    if op not in fields[field]:
        return [N_("Use one of: %(choices)s.", choices=", ".join(fields[field]))]
    if field not in FIELDS:
        return registry.segment_fields()[field].check(op, value)
    if field in ("created", "activity"):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 36500:
            return ["Give a whole number of days (1 to 36500)."]
    elif field == "lifecycle_stage" and value not in LIFECYCLE_STAGES:
        return [N_("Use one of: %(choices)s.", choices=", ".join(LIFECYCLE_STAGES))]
    elif field == "consent_email_marketing" and value not in CONSENT_STATES:
        return [N_("Use one of: %(choices)s.", choices=", ".join(CONSENT_STATES))]
    elif op not in ("is_set", "is_not_set") and (not isinstance(value, str) or not value.strip()):
        return ["Give a value."]
    elif isinstance(value, str) and len(value) > 200:
        return ["At most 200 characters."]
    return []


def clean_rules(rules: Any) -> list[dict[str, Any]]:
    """The rules as stored, or a ValidationError naming each bad rule (``rules.0``...)."""
    if not isinstance(rules, list):
        raise ValidationError(N_("Rules must be a list."), {"rules": [N_("Give a list of rules.")]})
    if len(rules) > MAX_RULES:
        raise ValidationError(N_("Too many rules."), {"rules": [N_("At most %(limit)s.", limit=MAX_RULES)]})
    errors = {f"rules.{i}": messages for i, rule in enumerate(rules) if (messages := _rule_errors(rule))}
    if errors:
        raise ValidationError(N_("Some rules are not valid."), errors)
    return [{"field": r["field"], "op": r["op"], "value": r.get("value")} for r in rules]


def audience_query(segment: Segment, now: datetime | None = None) -> Select:
    """``SELECT contacts.id`` of everyone the segment holds right now."""
    query = select(Contact.id)
    if segment.kind == "static":
        return query.join(SegmentMember, SegmentMember.contact_id == Contact.id).where(
            SegmentMember.segment_id == segment.id
        )
    now = now or datetime.now(UTC)
    conditions = [_rule_condition(rule, now) for rule in segment.rules]
    if any(rule["field"].startswith("account_") for rule in segment.rules):
        query = query.outerjoin(Account, Account.id == Contact.account_id)
    if not conditions:
        return query.where(true())
    return query.where(and_(*conditions) if segment.match == "all" else or_(*conditions, false()))


def count_and_preview(session: Session, segment: Segment) -> tuple[int, list[Contact]]:
    ids = audience_query(segment).subquery()
    count = session.scalar(select(func.count()).select_from(ids))
    preview = session.scalars(
        select(Contact)
        .where(Contact.id.in_(select(ids.c.id)))
        .order_by(Contact.sort_name, Contact.id)
        .limit(PREVIEW_LIMIT)
    ).all()
    return count, list(preview)


# --- records -----------------------------------------------------------------------------------------


def get_segment(session: Session, segment_id: uuid.UUID) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(N_("No segment with id %(id)s.", id=segment_id))
    return segment


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(func.lower(Segment.name), Segment.id)))


def _clean(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = (data.get("name") or "").strip()
        if not name or len(name) > 200:
            raise ValidationError(
                N_("A segment needs a name."), {"name": [N_("Give a name (at most 200 characters).")]}
            )
        clean["name"] = name
    if "kind" in data or not partial:
        if data.get("kind", "rules") not in SEGMENT_KINDS:
            raise ValidationError(
                N_("Invalid kind."),
                {"kind": [N_("Use one of: %(choices)s.", choices=", ".join(SEGMENT_KINDS))]},
            )
        clean["kind"] = data.get("kind", "rules")
    if "match" in data or not partial:
        if data.get("match", "all") not in ("all", "any"):
            raise ValidationError(N_("Invalid match."), {"match": [N_("Use all or any.")]})
        clean["match"] = data.get("match", "all")
    if "rules" in data or not partial:
        clean["rules"] = clean_rules(data.get("rules", []))
    return clean


def create_segment(session: Session, data: dict[str, Any]) -> Segment:
    segment = Segment(**_clean(data, partial=False))
    session.add(segment)
    session.flush()
    return segment


def update_segment(session: Session, segment_id: uuid.UUID, data: dict[str, Any]) -> Segment:
    segment = get_segment(session, segment_id)
    for name, value in _clean(data, partial=True).items():
        setattr(segment, name, value)
    session.flush()
    return segment


def delete_segment(session: Session, segment_id: uuid.UUID) -> None:
    from saas.modules.marketing.models import Campaign

    segment = get_segment(session, segment_id)
    if session.scalar(select(Campaign.id).where(Campaign.segment_id == segment.id).limit(1)):
        raise ValidationError(
            N_("Campaigns use this segment."), {"segment": [N_("Delete or change its campaigns first.")]}
        )
    session.delete(segment)
    session.flush()


def static_list_choices(session: Session) -> list[tuple[uuid.UUID, str]]:
    """``(id, name)`` of the static lists, by name: where a contacts list's bulk action adds people."""
    found = session.scalars(select(Segment).where(Segment.kind == "static").order_by(Segment.name))
    return [(segment.id, segment.name) for segment in found]


def add_to_static_list(session: Session, segment_id: uuid.UUID, contact_ids: list[uuid.UUID]) -> int:
    return set_members(session, segment_id, contact_ids, add=True)


def set_members(session: Session, segment_id: uuid.UUID, contact_ids: list[uuid.UUID], *, add: bool) -> int:
    """Add contacts to (or remove them from) a static list; returns how many rows changed."""
    segment = get_segment(session, segment_id)
    if segment.kind != "static":
        raise ValidationError(
            N_("Only a static list has members."), {"kind": [N_("This segment is rule-based.")]}
        )
    ids = list(dict.fromkeys(contact_ids))
    if not add:
        return session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment.id, SegmentMember.contact_id.in_(ids)
            )
        ).rowcount
    known = set(session.scalars(select(Contact.id).where(Contact.id.in_(ids))))
    unknown = [str(i) for i in ids if i not in known]
    if unknown:
        raise ValidationError(
            N_("Unknown contacts."), {"contact_ids": [N_("No contact with id %(id)s.", id=unknown[0])]}
        )
    if not ids:
        return 0
    inserted = session.execute(
        insert(SegmentMember)
        .values([{"segment_id": segment.id, "contact_id": i} for i in ids])
        .on_conflict_do_nothing()
        .returning(SegmentMember.contact_id)
    )
    return len(inserted.all())
