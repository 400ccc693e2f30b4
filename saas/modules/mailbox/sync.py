"""Incremental sync of a mailbox's INBOX and Sent folders as RQ jobs.

Each folder remembers its UIDVALIDITY and the last UID it has read; a folder whose HIGHESTMODSEQ
(CONDSTORE) and UIDNEXT are unchanged is not even opened. Messages are read in batches, and each
batch's kept messages and the folder's new last UID commit in one transaction: a sync that dies
(dropped connection, killed worker) resumes after the last committed batch, and the unique keys on
(folder, UIDVALIDITY, UID) and Message-ID keep a message from being stored twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.imapclient import SENT
from redis.exceptions import LockError
from sqlalchemy import select

from saas.db import TenantRef, TenantSession, tenant_session
from saas.modules.mailbox.connections import logout_quietly, open_imap
from saas.modules.mailbox.models import Mailbox, MailFolder, MailMessage
from saas.modules.mailbox.oauth import MailboxNeedsReconnect
from saas.modules.mailbox.parsing import parse_message
from saas.modules.mailbox.threads import index_people, is_excluded, store_message, stored_by_message_id

SYNC_JOB = "saas.modules.mailbox.sync.sync_mailbox"
SYNC_JOB_TIMEOUT = 1800
BATCH = 50
"""Messages fetched and committed together: a crash loses at most one batch's work, never its state."""

Progress = Callable[[int], None]
"""Called after each committed batch with the number of messages read so far in this run."""


def _sync_lock(session: TenantSession, mailbox_id: uuid.UUID):
    """One sync per mailbox at a time, across workers (the periodic job and "sync now" may meet)."""
    from saas.jobs import redis_connection

    name = f"saas:mailbox-sync:{session.tenant.id}:{mailbox_id}"
    # In the cell's Redis: the sync runs on that cell's workers only.
    return redis_connection(session.tenant.cell).lock(name, timeout=SYNC_JOB_TIMEOUT, blocking=False)


def queue_sync(tenant_id: str, mailbox_id: uuid.UUID) -> None:
    from saas.jobs import enqueue_for_tenant

    enqueue_for_tenant(tenant_id, SYNC_JOB, str(mailbox_id), job_timeout=SYNC_JOB_TIMEOUT)


def _folders_to_sync(client: IMAPClient, mailbox: Mailbox) -> list[tuple[str, str]]:
    """(name, role) of the INBOX and the Sent folder (by its \\Sent flag, else by name)."""
    sent = client.find_special_folder(SENT)
    if sent is None:
        names = {name.lower(): name for _, _, name in client.list_folders()}
        sent = next(
            (names[n] for n in ("sent", "sent items", "sent messages", "inbox.sent") if n in names), None
        )
    mailbox.sent_folder = sent
    return [("INBOX", "inbox")] + ([(sent, "sent")] if sent else [])


def _folder_row(mailbox: Mailbox, name: str, role: str) -> MailFolder:
    for folder in mailbox.folders:
        if folder.name == name:
            return folder
    folder = MailFolder(id=uuid.uuid4(), name=name, role=role, last_uid=0)
    mailbox.folders.append(folder)
    return folder


def _keep_batch(
    session: TenantSession, mailbox: Mailbox, folder: MailFolder, fetched: list[tuple[int, bytes]]
) -> int:
    """Store the fetched messages that concern a known customer and are not excluded; how many. The
    people and the Message-IDs already kept are looked up once for the whole batch."""
    parsed = [(uid, parse_message(raw)) for uid, raw in fetched]
    stored = stored_by_message_id(session, mailbox, [p.message_id for _, p in parsed if p.message_id])
    people = index_people(session, mailbox, [a for _, p in parsed for a in p.participants])
    own = mailbox.email_address.lower()
    kept = 0
    for uid, mail in parsed:
        earlier = stored.get(mail.message_id) if mail.message_id else None
        if earlier is not None:
            if earlier.uid is None:  # sent from the CRM; now its place in the folder is known
                earlier.folder, earlier.uidvalidity, earlier.uid = folder.name, folder.uidvalidity, uid
            continue
        if is_excluded(mailbox, [a for a in mail.participants if a != own]):
            continue
        known = people.people_of(mail.participants)
        if not known:
            continue
        direction = "out" if folder.role == "sent" or mail.from_address == own else "in"
        message = store_message(
            session, mailbox, mail, known,
            direction=direction, folder=folder.name, uidvalidity=folder.uidvalidity, uid=uid,
        )  # fmt: skip
        if mail.message_id:
            stored[mail.message_id] = message
        kept += 1
    return kept


def _sync_folder(
    session: TenantSession,
    client: IMAPClient,
    mailbox: Mailbox,
    folder: MailFolder,
    condstore: bool,
    read: list[int],
    progress: Progress | None,
    batch_size: int,
) -> int:
    """Read the folder's new messages; returns how many were kept."""
    items = [b"UIDVALIDITY", b"UIDNEXT"] + ([b"HIGHESTMODSEQ"] if condstore else [])
    status = client.folder_status(folder.name, items)
    uidvalidity, uidnext = int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])
    modseq = int(status[b"HIGHESTMODSEQ"]) if condstore and b"HIGHESTMODSEQ" in status else None
    if folder.uidvalidity != uidvalidity:
        # The server renumbered the folder: read its window again; Message-IDs keep what was stored.
        folder.uidvalidity, folder.last_uid, folder.highest_modseq = uidvalidity, 0, None
    elif modseq is not None and modseq == folder.highest_modseq and folder.last_uid >= uidnext - 1:
        return 0  # CONDSTORE: nothing in the folder changed since the last run
    first_run = folder.last_uid == 0
    client.select_folder(folder.name, readonly=True)
    if first_run:
        since = (datetime.now(UTC) - timedelta(days=mailbox.first_sync_days)).date()
        uids = client.search(["SINCE", since])
    else:
        uids = [uid for uid in client.search(["UID", f"{folder.last_uid + 1}:*"]) if uid > folder.last_uid]
    kept = 0
    uids = sorted(uids)
    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        done = set(
            session.scalars(
                select(MailMessage.uid).where(
                    MailMessage.mailbox_id == mailbox.id,
                    MailMessage.folder == folder.name,
                    MailMessage.uidvalidity == uidvalidity,
                    MailMessage.uid.in_(batch),
                )
            )
        )
        fetched = client.fetch(batch, [b"BODY.PEEK[]"])
        new = [
            (uid, fetched[uid][b"BODY[]"])
            for uid in batch
            if uid not in done and b"BODY[]" in fetched.get(uid, {})
        ]
        kept += _keep_batch(session, mailbox, folder, new)
        folder.last_uid = max(folder.last_uid, batch[-1])
        session.commit()  # the batch's messages and the folder's position, together
        read[0] += len(batch)
        if progress is not None:
            progress(read[0])
    if first_run:
        # Every UID below UIDNEXT was either in the window (read above) or older than it (not wanted).
        folder.last_uid = max(folder.last_uid, uidnext - 1)
    folder.highest_modseq = modseq
    session.commit()
    return kept


def sync_mailbox(
    session: TenantSession, mailbox_id: str, progress: Progress | None = None, batch_size: int = BATCH
) -> dict[str, Any]:
    """The job: read the mailbox's INBOX and Sent since the last run; returns what it did (messages
    read from the server, messages kept)."""
    mailbox = session.get(Mailbox, uuid.UUID(mailbox_id))
    if mailbox is None or mailbox.status != "connected":
        return {"skipped": "not connected"}
    lock = _sync_lock(session, mailbox.id)
    if not lock.acquire(blocking=False):
        return {"skipped": "already syncing"}
    read, kept = [0], 0
    try:
        client = open_imap(mailbox, session=session)
        try:
            condstore = client.has_capability("CONDSTORE")
            for name, role in _folders_to_sync(client, mailbox):
                folder = _folder_row(mailbox, name, role)
                kept += _sync_folder(session, client, mailbox, folder, condstore, read, progress, batch_size)
        finally:
            logout_quietly(client)
        mailbox.last_synced_at, mailbox.last_error = datetime.now(UTC), None
        session.commit()
    except MailboxNeedsReconnect:
        # Marked (and committed) where the renewal was refused; the periodic job no longer queues it.
        session.rollback()
        return {"stopped": "needs reconnecting"}
    except Exception as error:
        session.rollback()
        mailbox = session.get(Mailbox, uuid.UUID(mailbox_id))
        if mailbox is not None:
            mailbox.last_error = f"{type(error).__name__}: {error}"[:500]
            session.commit()
        raise
    finally:
        with contextlib.suppress(LockError):  # held past its timeout: another sync may own it now
            lock.release()
    return {"read": read[0], "kept": kept}


def sync_all_mailboxes() -> dict[str, Any]:
    """Periodic: queue a sync of every connected mailbox of every tenant with the mailbox module on."""
    from saas.jobs.fanout import for_each_tenant

    def queue_connected(ref: TenantRef) -> int:
        with tenant_session(ref) as session:
            ids = list(session.scalars(select(Mailbox.id).where(Mailbox.status == "connected")))
        for mailbox_id in ids:
            queue_sync(ref.id, mailbox_id)
        return len(ids)

    report = for_each_tenant("sync_all_mailboxes", queue_connected, module="mailbox")
    return {"queued": sum(report.results.values()), **report.as_dict()}
