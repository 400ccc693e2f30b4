"""Deals: an amount in a currency, expected to close on a date, moving through a pipeline's stages.

Every stage move is history: a :class:`DealStageChange` (from, to, the probability then, who, when) and a
system entry on the timeline of the deal's account and contacts. A won or lost stage closes the deal; a
lost one needs a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select

from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_, Phrase
from saas.modules.core.activities import ActivityService, acting_user_id, record_event
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.core.services import RecordService
from saas.modules.sfa.models import Deal, DealContact, DealStageChange, Pipeline, Stage
from saas.modules.sfa.pipelines import default_pipeline, first_open_stage, get_pipeline
from saas.webhooks.events import emit, record_payload

DEAL_SUBJECT = "deal"
"""``Activity.subject_type`` of entries about a deal."""


def check_member(session: TenantSession, user_id: uuid.UUID | None, field: str) -> None:
    """Owners and assignees are members of the workspace."""
    if user_id is not None and not is_member(db.session, session.tenant.id, user_id):
        raise ValidationError(
            "Choose a member of this workspace.", {field: ["Not a member of this workspace."]}
        )


LINK_REFUSALS = {
    "contact_id": (N_("Unknown contact."), N_("No contact with this id.")),
    "account_id": (N_("Unknown account."), N_("No account with this id.")),
    "deal_id": (N_("Unknown deal."), N_("No deal with this id.")),
}
"""What a link to a missing record is refused with: (detail, field message), whole sentences."""


def check_links(session: TenantSession, **links: uuid.UUID | None) -> None:
    """The contact, account and deal a record points to exist (``contact_id=``, ``account_id=``...)."""
    models = {"contact_id": Contact, "account_id": Account, "deal_id": Deal}
    for name, record_id in links.items():
        if record_id is not None and session.get(models[name], record_id) is None:
            detail, message = LINK_REFUSALS[name]
            raise ValidationError(detail, {name: [message]})


def _check_contacts(session: TenantSession, contact_ids: list[uuid.UUID]) -> None:
    missing = [contact_id for contact_id in contact_ids if session.get(Contact, contact_id) is None]
    if missing:
        raise ValidationError(
            N_("Unknown contact."), {"contact_ids": [N_("No contact with id %(id)s.", id=missing[0])]}
        )


def _stage_for(session: TenantSession, pipeline_id: uuid.UUID | None, stage_id: uuid.UUID | None) -> Stage:
    """The stage a deal goes to: the given one, else the first open stage of the (default) pipeline."""
    if stage_id is not None:
        stage = session.get(Stage, stage_id)
        if stage is None:
            raise ValidationError("Unknown stage.", {"stage_id": ["No stage with this id."]})
        if pipeline_id is not None and stage.pipeline_id != pipeline_id:
            raise ValidationError(
                "The stage belongs to another pipeline.", {"stage_id": ["Not a stage of this pipeline."]}
            )
        return stage
    if pipeline_id is not None:
        try:
            return first_open_stage(get_pipeline(session, pipeline_id))
        except NotFound as error:
            raise ValidationError(
                "Unknown pipeline.", {"pipeline_id": ["No pipeline with this id."]}
            ) from error
    return first_open_stage(default_pipeline(session))


class DealService(RecordService[Deal]):
    def filters(
        self,
        *,
        pipeline_id: uuid.UUID | None = None,
        stage_id: uuid.UUID | None = None,
        owner_user_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        contact_id: uuid.UUID | None = None,
        status: str | None = None,
        close_from: date | None = None,
        close_to: date | None = None,
    ) -> list[ColumnElement[bool]]:
        equal = {
            Deal.pipeline_id: pipeline_id,
            Deal.stage_id: stage_id,
            Deal.owner_user_id: owner_user_id,
            Deal.account_id: account_id,
            Deal.status: status,
        }
        conditions = [column == value for column, value in equal.items() if value is not None]
        if contact_id is not None:
            conditions.append(
                Deal.id.in_(select(DealContact.deal_id).where(DealContact.contact_id == contact_id))
            )
        if close_from is not None:
            conditions.append(Deal.close_date >= close_from)
        if close_to is not None:
            conditions.append(Deal.close_date <= close_to)
        return conditions

    def check(self, session: TenantSession, record: Deal) -> None:
        check_member(session, record.owner_user_id, "owner_user_id")
        check_links(session, account_id=record.account_id)
        _check_contacts(session, record.contact_ids)

    def create(self, session: TenantSession, data: dict[str, Any]) -> Deal:
        """Open a deal in its stage (the default pipeline's first open stage unless given)."""
        data = dict(data)
        stage = _stage_for(session, data.pop("pipeline_id", None), data.pop("stage_id", None))
        lost_reason = data.pop("lost_reason", None)
        contact_ids = data.pop("contact_ids", None) or []
        data.setdefault("owner_user_id", acting_user_id(session))
        deal = Deal(**data)
        deal.contact_links = [DealContact(contact_id=contact_id) for contact_id in dict.fromkeys(contact_ids)]
        _enter_stage(deal, stage, lost_reason)
        self.check(session, deal)
        session.add(deal)
        session.flush()
        _record_stage_change(session, deal, None, stage)
        _deal_event(
            session,
            deal,
            Phrase(N_("Deal opened: %(deal)s"), {"deal": deal.name}),
            Phrase(
                N_("In stage %(stage)s (%(probability)s%%), %(amount)s."),
                {"stage": stage.name, "probability": stage.probability, "amount": _amount(deal)},
                translated=("stage",),
            ),
        )
        _link_contacts_on_timeline(session, deal, deal.contact_ids, CONTACT_ADDED)
        session.flush()
        session.refresh(deal)
        self.emit(session, "created", deal)
        return deal

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Deal:
        """Change a deal's fields; a new stage or pipeline is a stage move, with its history."""
        deal = self.get(session, record_id)
        changes = dict(changes)
        target = _target_stage(session, deal, changes.pop("pipeline_id", None), changes.pop("stage_id", None))
        reason = changes.pop("lost_reason", deal.lost_reason)
        contact_ids = changes.pop("contact_ids", None)
        account_before = deal.account_id
        deal = super().update(session, record_id, changes)
        if contact_ids is not None:
            self._set_contacts(session, deal, list(dict.fromkeys(contact_ids)))
        if deal.account_id != account_before and deal.account_id is not None:
            _deal_event(
                session, deal, Phrase(N_("Deal %(deal)s is now with this account"), {"deal": deal.name})
            )
        if target is not None:
            return self.move(session, deal.id, target.id, reason)
        _keep_lost_reason(deal, reason)
        session.flush()
        return deal

    def move(
        self, session: TenantSession, deal_id: uuid.UUID, stage_id: uuid.UUID, lost_reason: str | None = None
    ) -> Deal:
        """Move a deal to a stage (of any pipeline); won/lost stages close it, a lost one needs a reason."""
        deal = self.get(session, deal_id)
        stage = _stage_for(session, None, stage_id)
        if stage.id == deal.stage_id:  # dropped where it was: at most the lost reason changes
            _keep_lost_reason(deal, lost_reason or deal.lost_reason)
        else:
            before = deal.stage
            _enter_stage(deal, stage, lost_reason)
            _record_stage_change(session, deal, before, stage)
            session.flush()
            emit(session, "deal.stage_changed", {**record_payload(deal), "from_stage_id": before.id})
        session.flush()
        session.refresh(deal)
        return deal

    def delete(self, session: TenantSession, record_id: uuid.UUID) -> None:
        deal = self.get(session, record_id)
        _deal_event(
            session,
            deal,
            Phrase(N_("Deal deleted: %(deal)s"), {"deal": deal.name}),
            Phrase(
                N_("It was in stage %(stage)s, %(amount)s."),
                {"stage": deal.stage.name, "amount": _amount(deal)},
                translated=("stage",),
            ),
        )
        super().delete(session, record_id)

    def history(self, session: TenantSession, deal_id: uuid.UUID) -> list[DealStageChange]:
        """The deal's stage moves, oldest first."""
        self.get(session, deal_id)
        query = (
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal_id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        )
        return list(session.scalars(query))

    def _set_contacts(self, session: TenantSession, deal: Deal, contact_ids: list[uuid.UUID]) -> None:
        current = deal.contact_ids
        _check_contacts(session, contact_ids)
        deal.contact_links = [link for link in deal.contact_links if link.contact_id in contact_ids] + [
            DealContact(contact_id=contact_id) for contact_id in contact_ids if contact_id not in current
        ]
        _link_contacts_on_timeline(session, deal, [c for c in contact_ids if c not in current], CONTACT_ADDED)
        _link_contacts_on_timeline(
            session, deal, [c for c in current if c not in contact_ids], CONTACT_REMOVED
        )


def _target_stage(
    session: TenantSession, deal: Deal, pipeline_id: uuid.UUID | None, stage_id: uuid.UUID | None
) -> Stage | None:
    """The stage an update moves the deal to, if it moves it at all."""
    if stage_id is None and pipeline_id in (None, deal.pipeline_id):
        return None
    stage = _stage_for(session, pipeline_id, stage_id)
    return None if stage.id == deal.stage_id else stage


def _keep_lost_reason(deal: Deal, reason: str | None) -> None:
    """A lost deal keeps a reason; any other has none to keep."""
    reason = reason.strip() if reason else None
    if deal.status == "lost" and not reason:
        raise ValidationError("A lost deal needs a reason.", {"lost_reason": ["Say why it was lost."]})
    if deal.status != "lost" and reason:
        raise ValidationError(
            "Only a lost deal has a lost reason.", {"lost_reason": ["Move the deal to a lost stage first."]}
        )
    deal.lost_reason = reason


def _enter_stage(deal: Deal, stage: Stage, lost_reason: str | None) -> None:
    """Put a deal in a stage: the stage's kind decides its status; closing stamps the time."""
    if stage.kind == "lost" and not (lost_reason and lost_reason.strip()):
        raise ValidationError(
            N_("Moving a deal to '%(stage)s' marks it lost: say why.", stage=stage.name),
            {"lost_reason": [N_("Give the reason the deal was lost.")]},
        )
    now = datetime.now(UTC)
    deal.stage = stage
    deal.pipeline_id = stage.pipeline_id
    deal.status = stage.kind  # a stage's kind and a deal's status share their values
    deal.closed_at = None if stage.kind == "open" else now
    deal.lost_reason = lost_reason.strip() if stage.kind == "lost" and lost_reason else None
    deal.stage_changed_at = now


def _record_stage_change(session: TenantSession, deal: Deal, before: Stage | None, after: Stage) -> None:
    session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage_id=before.id if before else None,
            to_stage_id=after.id,
            probability=after.probability,
            changed_by_user_id=acting_user_id(session),
            changed_at=deal.stage_changed_at,
        )
    )
    if before is None:
        return  # the "opened" entry on the timeline says where it started
    outcome = {"won": N_("Deal won: %(deal)s"), "lost": N_("Deal lost: %(deal)s")}.get(
        after.kind, N_("Deal moved: %(deal)s")
    )
    moved = {"before": before.name, "after": after.name, "probability": after.probability}
    body = Phrase(
        N_("From %(before)s to %(after)s; win probability %(probability)s%%."), moved, ("before", "after")
    )
    if after.kind == "lost":
        body = Phrase(
            N_("From %(before)s to %(after)s; win probability %(probability)s%%. Reason: %(reason)s"),
            moved | {"reason": deal.lost_reason},
            ("before", "after"),
        )
    _deal_event(session, deal, Phrase(outcome, {"deal": deal.name}), body)


def _amount(deal: Deal) -> str:
    return f"{deal.currency} {deal.amount}"


def _deal_event(session: TenantSession, deal: Deal, subject: Phrase, body: Phrase | None = None) -> None:
    """An entry about the deal on its account's timeline (and, through their links, its contacts')."""
    record_event(
        session, subject, body=body, account_id=deal.account_id, subject_type=DEAL_SUBJECT, subject_id=deal.id
    )


CONTACT_ADDED = N_("Contact added to deal %(deal)s")
CONTACT_REMOVED = N_("Contact removed from deal %(deal)s")


def _link_contacts_on_timeline(
    session: TenantSession, deal: Deal, contact_ids: list[uuid.UUID], message: str
) -> None:
    # One entry per contact links the person to the deal: from then on every entry about the deal
    # shows on the contact's timeline too (see saas.modules.core.activities).
    for contact_id in contact_ids:
        record_event(
            session,
            Phrase(message, {"deal": deal.name}),
            contact_id=contact_id,
            subject_type=DEAL_SUBJECT,
            subject_id=deal.id,
        )


deals = DealService(
    Deal,
    "deal",
    search=(Deal.sort_name,),
    announce=True,
    sortable={
        "name": Deal.sort_name,
        "amount": Deal.amount,
        "close_date": Deal.close_date,
        "status": Deal.status,
        "created_at": Deal.created_at,
        "updated_at": Deal.updated_at,
    },
)


@dataclass
class BoardColumn:
    """One stage on the pipeline board: its first deals, how many it holds, its totals per currency."""

    stage: Stage
    deals: list[Deal]
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


def board(session: TenantSession, pipeline: Pipeline, *, per_stage: int = 100) -> list[BoardColumn]:
    """The pipeline's stages in order, each with its deals (soonest close date first) and totals."""
    columns = {stage.id: BoardColumn(stage, []) for stage in pipeline.stages}
    totals = session.execute(
        select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount))
        .where(Deal.pipeline_id == pipeline.id)
        .group_by(Deal.stage_id, Deal.currency)
        .order_by(Deal.currency)
    )
    for stage_id, currency, count, amount in totals:
        columns[stage_id].count += count
        columns[stage_id].totals[currency] = amount
    for column in columns.values():
        query = (
            select(Deal)
            .where(Deal.stage_id == column.stage.id)
            .order_by(Deal.close_date.asc().nulls_last(), Deal.sort_name, Deal.id)
            .limit(per_stage)
        )
        column.deals = list(session.scalars(query))
    return list(columns.values())


class DealActivityService(ActivityService):
    """Activities as the sales API takes them: ``deal_id`` puts one on the deal (and its account)."""

    def filters(self, *, deal_id: uuid.UUID | None = None, **filters: Any) -> list[ColumnElement[bool]]:
        if deal_id is not None:
            filters |= {"subject_type": DEAL_SUBJECT, "subject_id": deal_id}
        return super().filters(**filters)

    def create(self, session: TenantSession, data: dict[str, Any]) -> Activity:
        return super().create(session, self._about_deal(session, dict(data)))

    def update(self, session: TenantSession, record_id: uuid.UUID, changes: dict[str, Any]) -> Activity:
        return super().update(session, record_id, self._about_deal(session, dict(changes)))

    @staticmethod
    def _about_deal(session: TenantSession, data: dict[str, Any]) -> dict[str, Any]:
        if "deal_id" not in data:
            return data
        deal_id = data.pop("deal_id")
        if deal_id is None:
            return {**data, "subject_type": None, "subject_id": None}
        deal = session.get(Deal, deal_id)
        if deal is None:
            raise ValidationError("Unknown deal.", {"deal_id": ["No deal with this id."]})
        data.setdefault("account_id", deal.account_id)
        return {**data, "subject_type": DEAL_SUBJECT, "subject_id": deal.id}


deal_activities = DealActivityService(Activity, "activity", search=(Activity.subject, Activity.body))
