"""API resources /api/v1/mailbox: a record's email threads, one thread (whole or metadata, as its
mailbox shares it), and sending from the caller's own mailbox."""

from __future__ import annotations

import uuid

from flask import request
from marshmallow import Schema, fields, validate

from saas.api import token_auth
from saas.modules.core.activities import acting_user_id
from saas.modules.core.schemas import list_of
from saas.modules.mailbox import mailboxes, sending, threads
from saas.modules.mailbox.blueprints import api
from saas.tenants.routing import current_tenant_session


class MailAttachmentOut(Schema):
    id = fields.UUID()
    name = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()


class MailMessageOut(Schema):
    id = fields.UUID()
    thread_id = fields.UUID()
    direction = fields.String(metadata={"description": "`in` or `out`."})
    subject = fields.String()
    from_address = fields.String()
    to_addresses = fields.List(fields.String())
    cc_addresses = fields.List(fields.String())
    sent_at = fields.DateTime()
    body_text = fields.String(
        allow_none=True, metadata={"description": "None when its owner shares subject and metadata only."}
    )
    attachments = fields.List(fields.Nested(MailAttachmentOut))
    opens = fields.Integer()
    clicks = fields.Integer()


class MailThreadOut(Schema):
    id = fields.UUID()
    subject = fields.String()
    mailbox_address = fields.String()
    whole = fields.Boolean(metadata={"description": "Whether bodies and attachments are shown."})
    messages = fields.List(fields.Nested(MailMessageOut))


class MailThreadSummaryOut(Schema):
    id = fields.UUID()
    subject = fields.String()
    last_message_at = fields.DateTime()


class MailThreadListQuery(Schema):
    record_type = fields.String(required=True, validate=validate.OneOf(["contacts", "accounts", "deals"]))
    record_id = fields.UUID(required=True)


class MailSendIn(Schema):
    to = fields.String(required=True, validate=validate.Length(max=254))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=998))
    body = fields.String(required=True, validate=validate.Length(min=1, max=sending.MAX_BODY_CHARS))
    reply_to = fields.UUID(load_default=None, metadata={"description": "A message of your mailbox answered."})
    track = fields.Boolean(load_default=False, metadata={"description": "Track opens and clicks."})


def _message(message, whole: bool) -> dict:
    shown = {name: getattr(message, name) for name in MailMessageOut._declared_fields}
    if not whole:
        shown["body_text"], shown["attachments"] = None, []
    return shown


@api.get("/mailbox/threads")
@api.auth_required(token_auth)
@api.input(MailThreadListQuery, location="query")
@api.output(list_of(MailThreadSummaryOut))
@api.doc(summary="List a contact's, account's or deal's email threads", responses=[422])
def list_threads(query_data: dict):
    session = current_tenant_session()
    found = threads.threads_of_record(session, query_data["record_type"], query_data["record_id"], limit=100)
    return {"data": [thread for thread, _ in found]}


@api.get("/mailbox/threads/<uuid:thread_id>")
@api.auth_required(token_auth)
@api.output(MailThreadOut)
@api.doc(
    summary="Get an email thread",
    description="Bodies and attachments only when the mailbox's owner shares whole messages, "
    "or to the owner.",
    responses=[404],
)
def get_thread(thread_id: uuid.UUID):
    session = current_tenant_session()
    view = threads.view_thread(session, thread_id, acting_user_id(session))
    return {
        "id": view.thread.id,
        "subject": view.thread.subject,
        "mailbox_address": view.mailbox.email_address,
        "whole": view.whole,
        "messages": [_message(message, view.whole) for message in view.messages],
    }


@api.post("/mailbox/messages")
@api.auth_required(token_auth)
@api.input(MailSendIn)
@api.output(MailMessageOut, status_code=201)
@api.doc(
    summary="Send an email from your own mailbox",
    description="Through your mailbox's SMTP server, to a contact or someone at a known account; filed in "
    "its Sent folder and kept on the timeline.",
    responses=[404, 409, 422],
)
def send_message(json_data: dict):
    session = current_tenant_session()
    mailbox = mailboxes.require_own_mailbox(session, acting_user_id(session))
    sent = sending.send_mail(
        session, mailbox, to=json_data["to"], subject=json_data["subject"], body=json_data["body"],
        reply_to=json_data["reply_to"], track=json_data["track"], base_url=request.host_url,
    )  # fmt: skip
    return _message(sent, True)
