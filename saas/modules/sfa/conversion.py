"""Lead conversion: one qualified lead becomes a contact, an account and optionally a deal.

Existing records are reused rather than duplicated: the contact by email (case-insensitive), the
account by the email's domain, else by company name. Everything happens in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text

from saas.db import TenantSession
from saas.errors import Conflict, NotFound, ValidationError
from saas.i18n import N_, Phrase
from saas.modules.core.activities import record_event
from saas.modules.core.models import Account, Contact
from saas.modules.core.services import accounts, contacts
from saas.modules.sfa.models import Deal, DealContact, Lead, Pipeline, Stage
from saas.webhooks.events import emit

# Addresses at these domains say nothing about the company a person works for.
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.de", "gmx.net", "hotmail.com", "icloud.com",
        "live.com", "mail.com", "me.com", "msn.com", "outlook.com", "proton.me", "protonmail.com",
        "t-online.de", "web.de", "yahoo.com", "yandex.ru",
    }
)  # fmt: skip


@dataclass
class Conversion:
    lead: Lead
    contact: Contact
    account: Account | None
    deal: Deal | None
    contact_created: bool
    account_created: bool

    @property
    def contact_id(self) -> uuid.UUID:
        return self.contact.id

    @property
    def account_id(self) -> uuid.UUID | None:
        return self.account.id if self.account else None

    @property
    def deal_id(self) -> uuid.UUID | None:
        return self.deal.id if self.deal else None


def company_domain(email: str | None) -> str | None:
    """The lower-cased domain of a work address; ``None`` for free-mail providers or no address."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if domain in FREE_MAIL_DOMAINS else domain


def _serialise_on(session: TenantSession, key: str) -> None:
    # Two conversions of leads with the same email (or company) in parallel must not both create it.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": session.tenant.id + key})


def find_contact_by_email(session: TenantSession, email: str) -> Contact | None:
    return session.scalar(
        select(Contact)
        .where(func.lower(Contact.email) == email.lower())
        .order_by(Contact.created_at, Contact.id)
        .limit(1)
    )


def find_account(session: TenantSession, domain: str | None, company: str | None) -> Account | None:
    """The account whose domain is ``domain``, else whose name is ``company`` (both case-insensitive)."""
    if domain:
        account = session.scalar(
            select(Account).where(func.lower(Account.domain) == domain).order_by(Account.created_at).limit(1)
        )
        if account is not None:
            return account
    if company:
        return session.scalar(
            select(Account)
            .where(Account.sort_name == company.lower())
            .order_by(Account.created_at, Account.id)
            .limit(1)
        )
    return None


def _account_for(session: TenantSession, lead: Lead) -> tuple[Account | None, bool]:
    domain = company_domain(lead.email)
    if domain:
        _serialise_on(session, f":account-domain:{domain}")
    if lead.company:
        _serialise_on(session, f":account-name:{lead.company.lower()}")
    account = find_account(session, domain, lead.company)
    if account is not None or not lead.company:
        return account, False
    return accounts.create(session, {"name": lead.company, "domain": domain}), True


def _contact_for(session: TenantSession, lead: Lead, account: Account | None) -> tuple[Contact, bool]:
    if lead.email:
        _serialise_on(session, f":contact:{lead.email.lower()}")
        existing = find_contact_by_email(session, lead.email)
        if existing is not None:
            if existing.account_id is None and account is not None:
                existing.account_id = account.id
            return existing, False
    contact = contacts.create(
        session,
        {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "title": lead.title,
            "account_id": account.id if account else None,
        },
        copied=True,
    )
    return contact, True


def _first_stage_of_default_pipeline(session: TenantSession) -> Stage:
    stage = session.scalar(
        select(Stage)
        .join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(Pipeline.is_default, Stage.kind == "open")
        .order_by(Stage.position)
        .limit(1)
    )
    if stage is None:
        raise Conflict("This workspace has no default pipeline with an open stage to put the deal in.")
    return stage


def _open_deal(
    session: TenantSession, lead: Lead, contact: Contact, account: Account | None, deal: dict[str, Any]
) -> Deal:
    stage = _first_stage_of_default_pipeline(session)
    name = deal.get("name") or f"{lead.company or contact.display_name}"
    record = Deal(
        name=name[:200],
        amount=deal.get("amount") or Decimal("0"),
        currency=deal.get("currency") or "EUR",
        pipeline_id=stage.pipeline_id,
        stage_id=stage.id,
        owner_user_id=lead.owner_user_id,
        account_id=account.id if account else None,
        status="open",
    )
    session.add(record)
    session.flush()
    session.add(DealContact(deal_id=record.id, contact_id=contact.id))
    return record


def _refuse_unless_qualified(lead: Lead) -> None:
    if lead.status == "converted":
        raise Conflict(
            N_(
                "This lead was converted already on %(date)s; "
                "open its contact instead of converting it again.",
                date=lead.converted_at.strftime("%Y-%m-%d"),
            ),
            contact_id=str(lead.converted_contact_id) if lead.converted_contact_id else None,
        )
    if lead.status != "qualified":
        raise Conflict(
            N_(
                "Only qualified leads can be converted; this lead is '%(status)s'. "
                "Set its status to qualified first.",
                status=lead.status,
            )
        )


def convert_lead(
    session: TenantSession,
    lead_id: uuid.UUID,
    *,
    deal: dict[str, Any] | None = None,
) -> Conversion:
    """Convert a qualified lead; ``deal`` (name, amount, currency) also opens a deal. Never commits."""
    # Locked and re-read: converting the same lead twice at once must not make two of anything.
    lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    if lead is None:
        raise NotFound(N_("No lead with id %(id)s.", id=lead_id))
    _refuse_unless_qualified(lead)
    if not (lead.first_name or lead.last_name):
        raise ValidationError("A lead needs a name to become a contact.", {"last_name": ["Enter a name."]})
    account, account_created = _account_for(session, lead)
    contact, contact_created = _contact_for(session, lead, account)
    opened = _open_deal(session, lead, contact, account, deal) if deal is not None else None

    lead.status = "converted"
    lead.converted_at = datetime.now(UTC)
    lead.converted_contact_id = contact.id
    lead.converted_account_id = account.id if account else None
    lead.converted_deal_id = opened.id if opened else None
    record_event(
        session,
        Phrase(N_("Converted from lead %(name)s"), {"name": contact.display_name}),
        body=_conversion_outcome(contact_created, account, account_created, opened),
        contact_id=contact.id,
        account_id=account.id if account else None,
        subject_type="lead",
        subject_id=lead.id,
    )
    session.flush()
    emit(session, "lead.converted", {"lead_id": lead.id, "contact_id": contact.id,
         "account_id": lead.converted_account_id, "deal_id": lead.converted_deal_id})  # fmt: skip
    return Conversion(lead, contact, account, opened, contact_created, account_created)


CONVERSION_OUTCOMES = {
    (True, None, None): N_("Contact created."),
    (False, None, None): N_("Contact linked."),
    (True, True, None): N_("Contact created; account created: %(account)s."),
    (True, False, None): N_("Contact created; account linked: %(account)s."),
    (False, True, None): N_("Contact linked; account created: %(account)s."),
    (False, False, None): N_("Contact linked; account linked: %(account)s."),
    (True, None, True): N_("Contact created; deal opened: %(deal)s."),
    (False, None, True): N_("Contact linked; deal opened: %(deal)s."),
    (True, True, True): N_("Contact created; account created: %(account)s; deal opened: %(deal)s."),
    (True, False, True): N_("Contact created; account linked: %(account)s; deal opened: %(deal)s."),
    (False, True, True): N_("Contact linked; account created: %(account)s; deal opened: %(deal)s."),
    (False, False, True): N_("Contact linked; account linked: %(account)s; deal opened: %(deal)s."),
}
"""What a conversion did, one whole sentence per outcome (a translation cannot be assembled from parts)."""


def _conversion_outcome(
    contact_created: bool, account: Account | None, account_created: bool, opened: Deal | None
) -> Phrase:
    key = (contact_created, account_created if account else None, True if opened else None)
    values = {"account": account.name if account else "", "deal": opened.name if opened else ""}
    return Phrase(CONVERSION_OUTCOMES[key], values)
