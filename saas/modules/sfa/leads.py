"""Leads: people who may buy, captured by form, API or CSV import, worked through statuses by an owner.

The generic record operations come from core's :class:`RecordService`; this adds the lead's filters and
rules (a name, a member as owner, "converted" reached only by :mod:`saas.modules.sfa.conversion`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.sql.elements import ColumnElement

from saas.auth.services import is_member
from saas.db import TenantSession, db
from saas.errors import ValidationError
from saas.modules.core.activities import acting_user_id
from saas.modules.core.services import RecordService
from saas.modules.registry import registry
from saas.modules.sfa.models import Lead


class LeadService(RecordService[Lead]):
    def filters(
        self,
        *,
        status: str | None = None,
        owner: uuid.UUID | None = None,
        min_rule_score: int | None = None,
        min_predicted_score: int | None = None,
    ) -> list[ColumnElement[bool]]:
        """SQL conditions of a lead list; a score floor leaves out leads not scored yet (NULL)."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(Lead.status == status)
        if owner is not None:
            conditions.append(Lead.owner_user_id == owner)
        if min_rule_score is not None:
            conditions.append(Lead.rule_score >= min_rule_score)
        if min_predicted_score is not None:
            conditions.append(Lead.predicted_score >= min_predicted_score)
        return conditions

    def check(self, session: TenantSession, record: Lead) -> None:
        if not (record.first_name or record.last_name):
            raise ValidationError(
                "A lead needs a first or a last name.", {"last_name": ["Enter a first or last name."]}
            )
        self._check_status_change(record)
        registry.admit_person(session, record.email)  # e.g. not a person who asked to be erased
        if record.owner_user_id is not None and not is_member(
            db.session, session.tenant.id, record.owner_user_id
        ):
            raise ValidationError(
                "The owner must be a member of this workspace.", {"owner_user_id": ["Not a member."]}
            )

    @staticmethod
    def _check_status_change(record: Lead) -> None:
        state = inspect(record)
        history = state.attrs.status.history
        before = history.deleted[0] if history.deleted else (None if state.transient else record.status)
        if before == record.status:
            return
        if record.status == "converted":
            raise ValidationError(
                "A lead becomes converted only by converting it.",
                {"status": ["Use Convert on a qualified lead."]},
            )
        if before == "converted":
            raise ValidationError(
                "A converted lead keeps its status.", {"status": ["This lead was converted already."]}
            )

    def create(self, session: TenantSession, data: dict[str, Any]) -> Lead:
        """A new lead; its owner is whoever creates it unless ``data`` names one (or none)."""
        return super().create(session, {"status": "new", "owner_user_id": acting_user_id(session), **data})


leads = LeadService(
    Lead,
    "lead",
    search=(Lead.first_name, Lead.last_name, Lead.sort_name, Lead.email, Lead.company),
    announce=True,
    sortable={
        "name": Lead.sort_name,
        "company": Lead.company,
        "email": Lead.email,
        "status": Lead.status,
        "source": Lead.source,
        "score": Lead.predicted_score,
        "rule_score": Lead.rule_score,
        "predicted_score": Lead.predicted_score,
        "created_at": Lead.created_at,
        "updated_at": Lead.updated_at,
    },
)
