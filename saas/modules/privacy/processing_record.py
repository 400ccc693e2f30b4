"""The workspace's records of processing (GDPR Art. 30), generated from what the product knows: the
activities the switched-on modules declare, the workspace's consent purposes, retention and region."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from saas.cells import data_region
from saas.db import TenantSession, db
from saas.modules.privacy.consent import current_notice
from saas.modules.privacy.models import ConsentPurpose
from saas.modules.privacy.retention import get_policy
from saas.modules.registry import (
    CATEGORY_CONTACT_DETAILS,
    RECIPIENT_CONNECTED_SYSTEMS,
    RECIPIENT_EMAIL_DELIVERY,
    RECIPIENT_OWN_CALENDARS,
    RECIPIENT_OWN_MAIL,
    SUBJECT_CONTACTS,
    ProcessingActivity,
    registry,
)
from saas.tenants.models import Tenant

CHOSEN_BY_THE_WORKSPACE = frozenset(
    {RECIPIENT_OWN_MAIL, RECIPIENT_OWN_CALENDARS, RECIPIENT_CONNECTED_SYSTEMS}
)
"""Recipients the workspace itself picks (its members' mail servers, what it connects): where they are is
the workspace's to record, not the service's."""


@dataclass(frozen=True)
class ActivityEntry:
    """One processing activity as the record shows it, every text translated for the reader."""

    module: str
    name: str
    purpose: str
    data_subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    legal_basis: str
    recipients: tuple[str, ...]
    retention: str
    transfers: str


@dataclass(frozen=True)
class ProcessingRecord:
    """The whole record: who the controller is, where the data lives, what is done with it."""

    controller: str
    region_label: str
    region_code: str
    generated_at: datetime
    processor: str
    """The service's operator and what it hosts in the region (every activity's processor)."""
    directory: str
    """What the service keeps in its central directory, which serves every region (sign-in, billing)."""
    activities: tuple[ActivityEntry, ...]


def processing_record(session: TenantSession, enabled: Collection[str]) -> ProcessingRecord:
    """The record of the workspace ``session`` is bound to, with the ``enabled`` modules' activities."""
    tenant = db.session.get(Tenant, session.tenant.id)
    region = data_region(session.tenant.cell)
    place = {"region": region.label, "code": region.region}
    purposes = {purpose.key: purpose for purpose in session.scalars(select(ConsentPurpose))}
    contact_retention = _contact_retention(session)
    declared = registry.processing_activities(enabled)
    activities = [
        _entry(session, _(module.title), activity, purposes, place, contact_retention)
        for module, activity in declared
    ]
    # Consent the workspace collects for purposes no module carries out itself (SMS, partners, its own):
    # the consent is the legal basis, and the notice people read says what is done.
    claimed = {
        key for module in registry for activity in module.processing for key in activity.consent_purposes
    }
    activities += [
        _consent_entry(session, purpose, place, contact_retention)
        for key, purpose in sorted(purposes.items())
        if key not in claimed
    ]
    settings = current_app.config["SAAS_SETTINGS"]
    directory = _(
        "Members' sign-in accounts and the workspace's billing are kept in the service's central directory."
    )
    if settings.stripe_api_key:
        directory += " " + _("Billing details (the workspace's name and billing email) go to Stripe.")
    return ProcessingRecord(
        controller=tenant.name,
        region_label=region.label,
        region_code=region.region,
        generated_at=datetime.now(UTC),
        processor=_(
            "The service's operator: database, background jobs, files and exports in %(region)s.", **place
        ),
        directory=directory,
        activities=tuple(activities),
    )


def _contact_retention(session: TenantSession) -> str:
    policy = get_policy(session)
    if policy is not None and policy.enabled:
        return _(
            "Deleted after %(months)s months without activity (retention policy), or on request.",
            months=policy.months,
        )
    return _("Kept until deleted or erased on request; no retention policy is on.")


def _transfers(recipients: Collection[str], place: dict[str, str]) -> str:
    said = [_("None: stored only in %(region)s (%(code)s).", **place)]
    if RECIPIENT_EMAIL_DELIVERY in recipients:  # one SMTP_URL for every cell: not necessarily in the region
        said.append(
            _("Outgoing email passes through the service's mail provider, which may be outside this region.")
        )
    if CHOSEN_BY_THE_WORKSPACE.intersection(recipients):
        said.append(_("Systems you connect are yours to record."))
    return " ".join(said)


def _legal_basis(activity: ProcessingActivity, purposes: dict[str, ConsentPurpose]) -> str:
    if activity.consent_purposes:
        titles = ", ".join(
            _(purposes[key].title) if key in purposes else key for key in activity.consent_purposes
        )
        return _("Consent (%(purposes)s)", purposes=titles)
    if activity.legal_basis:
        return _(activity.legal_basis)
    return _("Yours to state (for example contract or legitimate interests)")


def _entry(
    session: TenantSession,
    module: str,
    activity: ProcessingActivity,
    purposes: dict[str, ConsentPurpose],
    place: dict[str, str],
    contact_retention: str,
) -> ActivityEntry:
    return ActivityEntry(
        module=module,
        name=_(activity.name),
        purpose=_(activity.purpose),
        data_subjects=tuple(_(subject) for subject in activity.data_subjects),
        data_categories=tuple(_(category) for category in activity.data_categories),
        legal_basis=_legal_basis(activity, purposes),
        recipients=tuple(_(recipient, **place) for recipient in activity.recipients),
        retention=activity.retention(session) if activity.retention else contact_retention,
        transfers=_transfers(activity.recipients, place),
    )


def _consent_entry(
    session: TenantSession, purpose: ConsentPurpose, place: dict[str, str], contact_retention: str
) -> ActivityEntry:
    notice = current_notice(session, purpose)
    return ActivityEntry(
        module=_("Privacy"),
        name=_(purpose.title),
        purpose=notice.text if notice else _(purpose.title),
        data_subjects=(_(SUBJECT_CONTACTS),),
        data_categories=(_(CATEGORY_CONTACT_DETAILS),),
        legal_basis=_("Consent (%(purposes)s)", purposes=_(purpose.title)),
        recipients=(),
        retention=contact_retention,
        transfers=_transfers((), place),
    )
