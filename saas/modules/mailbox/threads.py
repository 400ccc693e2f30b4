"""Keeping mail: which messages concern the workspace's customers, storing them once as threads with
their attachments, and the threads' entries on the contacts', accounts' and deals' timelines.

Others in the workspace see a thread's messages whole only when its mailbox shares them (``full``);
else subject and metadata. The owner always sees their own mail.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from saas.db import TenantSession
from saas.errors import NotFound, SaasError
from saas.exports import storage
from saas.modules.core.models import Account, Activity, Contact
from saas.modules.core.normalise import web_domain
from saas.modules.files.content_types import SNIFF_BYTES, classify
from saas.modules.files.services import clean_name, drop_object, store_object
from saas.modules.mailbox.models import MailAttachment, Mailbox, MailMessage, MailThread, MailThreadEntry
from saas.modules.mailbox.parsing import ParsedMail
from saas.modules.registry import registry
from saas.webhooks.events import emit

EXCERPT_CHARS = 2000
NO_SUBJECT = "(no subject)"


@dataclass
class KnownPeople:
    """The workspace's contacts and accounts a message's addresses match."""

    contacts: list[Contact] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    open_deals: dict[tuple[str, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    """(``contact`` or ``account``, its id) -> its most recently changed open deal."""

    def __bool__(self) -> bool:
        return bool(self.contacts or self.accounts)

    def open_deal(self, contact_id: uuid.UUID | None, account_id: uuid.UUID | None) -> uuid.UUID | None:
        """The contact's open deal, else the account's."""
        return self.open_deals.get(("contact", contact_id)) or self.open_deals.get(("account", account_id))


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def is_excluded(mailbox: Mailbox, addresses: list[str]) -> bool:
    """Whether any address is one the owner never syncs, itself or by its domain."""
    never = {entry.lower() for entry in mailbox.excluded or ()}
    return any(address in never or domain_of(address) in never for address in addresses)


@dataclass
class PeopleIndex:
    """The contacts (by email) and accounts (by domain) some addresses match, looked up once for a
    whole batch of messages."""

    own: str
    contacts: dict[str, list[Contact]]
    accounts: dict[str, list[Account]]
    open_deals: dict[tuple[str, uuid.UUID], uuid.UUID] = field(default_factory=dict)

    def people_of(self, addresses: list[str]) -> KnownPeople:
        others = [a for a in addresses if a != self.own]
        contacts = {c.id: c for a in others for c in self.contacts.get(a, ())}
        accounts = {x.id: x for a in others for x in self.accounts.get(domain_of(a), ())}
        return KnownPeople(
            sorted(contacts.values(), key=lambda c: c.id),
            sorted(accounts.values(), key=lambda x: x.id),
            self.open_deals,
        )


def index_people(session: Session, mailbox: Mailbox, addresses: list[str]) -> PeopleIndex:
    """Contacts with one of these emails, and accounts with one of their domains (the owner's own
    address aside: it is on every message)."""
    own = mailbox.email_address.lower()
    index = PeopleIndex(own, {}, {})
    others = sorted({a for a in addresses if a != own})
    if not others:
        return index
    for contact in session.scalars(select(Contact).where(func.lower(Contact.email).in_(others))):
        index.contacts.setdefault((contact.email or "").lower(), []).append(contact)
    domains = sorted({domain_of(a) for a in others})
    found = session.execute(
        select(Account, web_domain(Account.domain)).where(web_domain(Account.domain).in_(domains))
    )
    for account, domain in found:
        index.accounts.setdefault(domain, []).append(account)
    index.open_deals = _open_deals(session, index)
    return index


def known_people(session: Session, mailbox: Mailbox, addresses: list[str]) -> KnownPeople:
    """The contacts and accounts of these addresses (see ``index_people``)."""
    return index_people(session, mailbox, addresses).people_of(addresses)


def _deals_here(session: Session) -> bool:
    """Whether the workspace has deals (the sales module on); asked once per session."""
    if "mailbox_deals_here" not in session.info:
        session.info["mailbox_deals_here"] = registry.record_type(session, "deals") is not None
    return session.info["mailbox_deals_here"]


CONTACT_DEALS = text(
    "SELECT DISTINCT ON (dc.contact_id) dc.contact_id, d.id FROM deals d "
    "JOIN deal_contacts dc ON dc.deal_id = d.id WHERE dc.contact_id = ANY(:ids) AND d.status = 'open' "
    "ORDER BY dc.contact_id, d.updated_at DESC, d.id"
)
ACCOUNT_DEALS = text(
    "SELECT DISTINCT ON (account_id) account_id, id FROM deals WHERE account_id = ANY(:ids) "
    "AND status = 'open' ORDER BY account_id, updated_at DESC, id"
)


def _open_deals(session: Session, index: PeopleIndex) -> dict[tuple[str, uuid.UUID], uuid.UUID]:
    """The most recently changed open deal of each indexed contact and account (contacts' accounts too),
    while the workspace has deals: two queries for a whole batch."""
    if not _deals_here(session):
        return {}
    contacts = [c for found in index.contacts.values() for c in found]
    accounts = {x.id for found in index.accounts.values() for x in found} | {
        c.account_id for c in contacts if c.account_id
    }
    deals = {}
    if contacts:
        for contact_id, deal_id in session.execute(CONTACT_DEALS, {"ids": [c.id for c in contacts]}):
            deals[("contact", contact_id)] = deal_id
    if accounts:
        for account_id, deal_id in session.execute(ACCOUNT_DEALS, {"ids": sorted(accounts)}):
            deals[("account", account_id)] = deal_id
    return deals


# --- storing --------------------------------------------------------------------------------------


def stored_by_message_id(
    session: Session, mailbox: Mailbox, message_ids: list[str]
) -> dict[str, MailMessage]:
    """The mailbox's kept messages with these Message-IDs."""
    if not message_ids:
        return {}
    found = session.scalars(
        select(MailMessage).where(
            MailMessage.mailbox_id == mailbox.id, MailMessage.message_id_header.in_(message_ids)
        )
    )
    return {message.message_id_header: message for message in found}


def _thread_for(session: Session, mailbox: Mailbox, parsed: ParsedMail) -> tuple[MailThread, bool]:
    """The thread the message answers, or a new one; and whether it is new."""
    keys = parsed.thread_keys
    if keys:
        thread_id = session.scalar(
            select(MailMessage.thread_id)
            .where(MailMessage.mailbox_id == mailbox.id, MailMessage.message_id_header.in_(keys))
            .limit(1)
        )
        if thread_id is not None:
            return session.get(MailThread, thread_id), False
    thread = MailThread(
        id=uuid.uuid4(),
        mailbox_id=mailbox.id,
        subject=parsed.subject or NO_SUBJECT,
        last_message_at=parsed.sent_at,
    )
    session.add(thread)
    return thread, True


def _keep_attachments(session: TenantSession, message: MailMessage, parsed: ParsedMail) -> list[str]:
    """Store the attachments (their bytes in object storage); lines naming those not kept, and why."""
    notes = []
    limit = current_app.config["SAAS_SETTINGS"].files_max_bytes
    for filename, _, content in parsed.attachments:
        name = clean_name(filename)
        if not storage.storage_configured(session.tenant.cell):
            notes.append(f"[Attachment {name} not kept: no file storage is configured]")
            continue
        if not content or len(content) > limit:
            notes.append(f"[Attachment {name} not kept: empty or larger than the file limit]")
            continue
        try:
            content_type = classify(content[:SNIFF_BYTES], name)
        except SaasError as error:
            notes.append(f"[Attachment {name} not kept: {error.detail}]")
            continue
        row = MailAttachment(id=uuid.uuid4(), name=name, content_type=content_type)
        row.object_name = row.id.hex
        row.size_bytes, row.sha256 = store_object(session, row.object_name, io.BytesIO(content), content_type)
        message.attachments.append(row)
    return notes


def store_message(
    session: TenantSession,
    mailbox: Mailbox,
    parsed: ParsedMail,
    people: KnownPeople,
    *,
    direction: str,
    folder: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    row_id: uuid.UUID | None = None,
) -> MailMessage:
    """Store a kept message in its thread and put the thread on its people's timelines; ``row_id`` is
    the id links in the message already name (its tracking links)."""
    thread, new_thread = _thread_for(session, mailbox, parsed)
    message = MailMessage(
        id=row_id or uuid.uuid4(),
        mailbox_id=mailbox.id,
        thread_id=thread.id,
        thread=thread,
        folder=folder,
        uidvalidity=uidvalidity,
        uid=uid,
        message_id_header=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references) or None,
        direction=direction,
        subject=parsed.subject or NO_SUBJECT,
        from_address=parsed.from_address[:254],
        from_name=parsed.from_name,
        to_addresses=parsed.to,
        cc_addresses=parsed.cc,
        participants=parsed.participants,
        sent_at=parsed.sent_at,
        body_text=parsed.body_text,
    )
    notes = _keep_attachments(session, message, parsed)
    if notes:
        message.body_text = "\n".join([message.body_text.rstrip(), "", *notes])
    session.add(message)
    thread.last_message_at = max(thread.last_message_at, parsed.sent_at)
    # No flush here: a batch's rows are inserted together when the sync commits it.
    place_on_timelines(session, mailbox, thread, people, first=message if new_thread else None)
    if direction == "in":
        # Other modules hear of answers through the registry (a sequence stops for a reply).
        emit(session, "mail.received", {
            "message_id": message.id, "mailbox_id": mailbox.id, "thread_id": thread.id,
            "thread_keys": parsed.thread_keys, "from": message.from_address,
        })  # fmt: skip
    return message


# --- timelines ------------------------------------------------------------------------------------


def _entry_body(mailbox: Mailbox, latest: MailMessage, count: int) -> str:
    recipients = ", ".join(latest.to_addresses[:5])
    head = f"{latest.from_address} → {recipients}"
    if count > 1:
        head += f" · {count} messages"
    if mailbox.sharing != "full":
        return head
    return f"{head}\n\n{latest.body_text[:EXCERPT_CHARS]}"


def place_on_timelines(
    session: Session,
    mailbox: Mailbox,
    thread: MailThread,
    people: KnownPeople,
    first: MailMessage | None = None,
) -> None:
    """One ``email`` entry per matched contact (with their account and open deal), and one per matched
    account no matched contact belongs to; existing entries of the thread are brought up to date.
    ``first``: the thread is new and this is its only message (nothing to look up)."""
    entries = (
        []
        if first is not None
        else list(
            session.scalars(
                select(Activity)
                .join(MailThreadEntry, MailThreadEntry.activity_id == Activity.id)
                .where(MailThreadEntry.thread_id == thread.id)
            )
        )
    )
    have_contacts = {entry.contact_id for entry in entries if entry.contact_id}
    have_accounts = {entry.account_id for entry in entries if entry.account_id}
    wanted: list[tuple[uuid.UUID | None, uuid.UUID | None]] = []
    for contact in people.contacts:
        if contact.id not in have_contacts:
            wanted.append((contact.id, contact.account_id))
            have_accounts.add(contact.account_id)
    for account in people.accounts:
        if account.id not in have_accounts:
            wanted.append((None, account.id))
            have_accounts.add(account.id)
    for contact_id, account_id in wanted:
        deal_id = people.open_deal(contact_id, account_id)
        entry = Activity(
            id=uuid.uuid4(),
            kind="email",
            subject=thread.subject[:200],
            contact_id=contact_id,
            account_id=account_id,
            subject_type="deals" if deal_id else None,
            subject_id=deal_id,
            actor_user_id=mailbox.owner_user_id,
            occurred_at=thread.last_message_at,
        )
        session.add(MailThreadEntry(thread=thread, activity=entry))
        entries.append(entry)
    if first is not None:
        for entry in entries:
            entry.body = _entry_body(mailbox, first, 1)
        return
    refresh_entries(session, mailbox, thread, entries)


def refresh_entries(
    session: Session, mailbox: Mailbox, thread: MailThread, entries: list[Activity] | None = None
) -> None:
    """Bring the thread's timeline entries to its latest message and its mailbox's sharing level."""
    if entries is None:
        entries = list(
            session.scalars(
                select(Activity)
                .join(MailThreadEntry, MailThreadEntry.activity_id == Activity.id)
                .where(MailThreadEntry.thread_id == thread.id)
            )
        )
    latest = session.scalar(
        select(MailMessage)
        .where(MailMessage.thread_id == thread.id)
        .order_by(MailMessage.sent_at.desc(), MailMessage.id)
        .limit(1)
    )
    if latest is None:
        return
    count = session.scalar(select(func.count()).where(MailMessage.thread_id == thread.id))
    for entry in entries:
        entry.body = _entry_body(mailbox, latest, count)
        entry.occurred_at = thread.last_message_at


def drop_threads(session: TenantSession, thread_ids: list[uuid.UUID]) -> int:
    """Delete threads with their messages, attachments' objects and timeline entries; returns messages."""
    if not thread_ids:
        return 0
    for (object_name,) in session.execute(
        select(MailAttachment.object_name)
        .join(MailMessage, MailMessage.id == MailAttachment.message_id)
        .where(MailMessage.thread_id.in_(thread_ids))
    ):
        drop_object(session, object_name)
    entry_ids = select(MailThreadEntry.activity_id).where(MailThreadEntry.thread_id.in_(thread_ids))
    session.execute(delete(Activity).where(Activity.id.in_(entry_ids)))
    count = session.scalar(select(func.count()).where(MailMessage.thread_id.in_(thread_ids)))
    session.execute(delete(MailThread).where(MailThread.id.in_(thread_ids)))
    session.expire_all()
    return count or 0


# --- reading --------------------------------------------------------------------------------------


@dataclass
class ThreadView:
    """A thread as one member may see it: ``whole`` False means subject and metadata only."""

    thread: MailThread
    mailbox: Mailbox
    messages: list[MailMessage]
    whole: bool
    is_owner: bool


def can_read_whole(mailbox: Mailbox, user_id: uuid.UUID | None) -> bool:
    return mailbox.sharing == "full" or mailbox.owner_user_id == user_id


def view_thread(session: Session, thread_id: uuid.UUID, user_id: uuid.UUID | None) -> ThreadView:
    thread = session.get(MailThread, thread_id)
    if thread is None:
        raise NotFound("No such email thread.")
    mailbox = session.get(Mailbox, thread.mailbox_id)
    messages = list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.thread_id == thread.id)
            .order_by(MailMessage.sent_at, MailMessage.id)
        )
    )
    return ThreadView(
        thread, mailbox, messages, can_read_whole(mailbox, user_id), mailbox.owner_user_id == user_id
    )


def threads_of_record(
    session: Session, record_type: str, record_id: uuid.UUID, limit: int = 20
) -> list[tuple[MailThread, datetime]]:
    """The threads on a contact's, account's or deal's timeline, newest first."""
    column = {"contacts": Activity.contact_id, "accounts": Activity.account_id}.get(record_type)
    condition = (
        column == record_id
        if column is not None
        else ((Activity.subject_type == record_type) & (Activity.subject_id == record_id))
    )
    rows = session.execute(
        select(MailThread, MailThread.last_message_at)
        .join(MailThreadEntry, MailThreadEntry.thread_id == MailThread.id)
        .join(Activity, Activity.id == MailThreadEntry.activity_id)
        .where(condition)
        .group_by(MailThread.id)
        .order_by(MailThread.last_message_at.desc())
        .limit(limit)
    )
    return [(thread, at) for thread, at in rows]
