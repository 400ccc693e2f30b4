"""Mail threads under /t/<slug>/mailbox/threads: reading one (whole, or its metadata when its owner
shares no more), replying from one's own mailbox, writing to a contact, and attachments."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import NotFound, ValidationError
from saas.modules.core.activities import acting_user_id
from saas.modules.core.models import Contact
from saas.modules.files.downloads import file_response
from saas.modules.mailbox import mailboxes, sending, threads
from saas.modules.mailbox.blueprints import pages
from saas.modules.mailbox.models import MailAttachment, Mailbox, MailMessage
from saas.tenants.routing import current_tenant_session


def _render_thread(thread_id: uuid.UUID, *, errors=None, message=None, values=None, status=200):
    session = current_tenant_session()
    view = threads.view_thread(session, thread_id, acting_user_id(session))
    return render_template(
        "mailbox/thread.html", view=view, errors=errors or {}, message=message, values=values or {}
    ), status


@pages.get("/mailbox/threads/<uuid:thread_id>")
def show_thread(thread_id: uuid.UUID):
    return _render_thread(thread_id)


def _form() -> dict:
    return {name: request.form.get(name, "") for name in ("to", "subject", "body", "track")}


@pages.post("/mailbox/threads/<uuid:thread_id>/reply")
def reply(thread_id: uuid.UUID):
    session = current_tenant_session()
    view = threads.view_thread(session, thread_id, acting_user_id(session))
    if not view.is_owner:
        raise NotFound("Only the mailbox's owner replies from it.")
    data = _form()
    parent = view.messages[-1]
    try:
        sending.send_mail(
            session, view.mailbox, to=data["to"], subject=view.thread.subject, body=data["body"],
            reply_to=parent.id, track=bool(data["track"]), base_url=request.host_url,
        )  # fmt: skip
    except ValidationError as error:
        return _render_thread(thread_id, errors=error.errors, message=error.detail, values=data, status=422)
    flash(gettext("Reply sent."))
    return redirect(url_for("mailbox.show_thread", thread_id=thread_id))


def _render_compose(contact: Contact | None, *, errors=None, message=None, values=None, status=200):
    session = current_tenant_session()
    mailbox = mailboxes.own_mailbox(session, acting_user_id(session))
    values = values or {"to": contact.email if contact and contact.email else ""}
    return render_template(
        "mailbox/compose.html", mailbox=mailbox, contact=contact, errors=errors or {}, message=message,
        values=values,
    ), status  # fmt: skip


def _contact(value: str | None) -> Contact | None:
    try:
        contact_id = uuid.UUID(value) if value else None
    except ValueError:
        raise NotFound("No such contact.") from None
    if contact_id is None:
        return None
    contact = current_tenant_session().get(Contact, contact_id)
    if contact is None:
        raise NotFound("No such contact.")
    return contact


@pages.get("/mailbox/compose")
def compose():
    return _render_compose(_contact(request.args.get("contact_id")))


@pages.post("/mailbox/compose")
def send():
    session = current_tenant_session()
    contact = _contact(request.form.get("contact_id"))
    mailbox = mailboxes.require_own_mailbox(session, acting_user_id(session))
    data = _form()
    try:
        sent = sending.send_mail(
            session,
            mailbox,
            to=data["to"],
            subject=data["subject"],
            body=data["body"],
            track=bool(data["track"]),
            base_url=request.host_url,
        )
    except ValidationError as error:
        return _render_compose(contact, errors=error.errors, message=error.detail, values=data, status=422)
    flash(gettext("Email sent."))
    return redirect(url_for("mailbox.show_thread", thread_id=sent.thread_id))


@pages.get("/mailbox/attachments/<uuid:attachment_id>")
def download_attachment(attachment_id: uuid.UUID):
    session = current_tenant_session()
    attachment = session.get(MailAttachment, attachment_id)
    message = session.get(MailMessage, attachment.message_id) if attachment else None
    mailbox = session.get(Mailbox, message.mailbox_id) if message else None
    if mailbox is None or not threads.can_read_whole(mailbox, acting_user_id(session)):
        raise NotFound("No such attachment.")
    return file_response(session, attachment)
