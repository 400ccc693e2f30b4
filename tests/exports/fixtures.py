"""A tenant with awkward data in every table, for round trips."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from saas.db import tenant_session
from saas.exports.format import tenant_tables
from saas.modules.core.models import (
    Account,
    Activity,
    Contact,
    CurrencySettings,
    ExchangeRate,
    ExternalRecord,
    ImportJob,
    ImportRowError,
    PhoneSettings,
    VendorImport,
    VendorImportRow,
)
from saas.modules.privacy.models import (
    ConsentEvent,
    ConsentPurpose,
    PrivacyLinkUse,
    PrivacyRequest,
    PrivacyRequestStep,
    PrivacySettings,
    RetentionPolicy,
    SuppressedEmail,
)
from saas.modules.sfa.models import (
    Deal,
    DealContact,
    DealStageChange,
    Lead,
    LeadScoreModel,
    Pipeline,
    Stage,
    Task,
)

AWKWARD = 'Zoë "Zed" O\'Brien, Jr.\nsecond line\r\nthird, with comma; 日本語 🚀 \\ backslash'
FILE_BLOB = bytes(range(256)) * 4096 + "日本語 🚀".encode()
"""A file's content for round trips: every byte value, over a megabyte (several archive blocks)."""
LARGE = ('Lorem ipsum dolor sit amet, ünïcödé, "quoted"\n' * 25_000)[:1_000_000]


def _fill_vendor_import_tables(session, contact_id) -> None:
    vendor_import = VendorImport(
        vendor="salesforce", filename="Export-ünï.zip", content=bytes(range(256)),
        choices={"Contact": {"Tier__c": "custom"}}, dry_run={"objects": [{"object": "Contact", "new": 1}]},
    )  # fmt: skip
    session.add(vendor_import)
    session.flush()
    session.add_all(
        [
            VendorImportRow(
                import_id=vendor_import.id, object="Contact", row_number=3, external_id="0035g00000AbCdEAAX",
                outcome="refused", reason=AWKWARD[:500], raw={"Email": "not-an-email", "Name": AWKWARD[:50]},
            ),
            ExternalRecord(
                vendor="salesforce", object="Contact", external_id="0035g00000AbCdEAAX",
                record_type="contacts", record_id=contact_id, import_id=vendor_import.id,
            ),
        ]
    )  # fmt: skip


def fill_every_table(fixture) -> None:
    """Rows in every tenant table, with unicode, separators, quotes, newlines, NULLs and large text."""
    with tenant_session(fixture.ref) as session:
        account = Account(name=AWKWARD[:200], domain="zoe.example", industry=None, notes=LARGE)
        bare = Account(name="", domain=None)  # empty string, not NULL
        session.add_all([account, bare])
        session.flush()
        contact = Contact(
            first_name="Zoë", last_name=AWKWARD[:100], email="zoe@zoe.example", account_id=account.id
        )
        nulls = Contact(first_name=None, last_name="Nulls", email=None, phone=None, notes="")
        session.add_all([contact, nulls])
        session.flush()
        pipeline = session.scalar(select(Pipeline))
        stages = session.scalars(select(Stage).order_by(Stage.position)).all()
        deal = Deal(
            name='Big, "quoted" deal',
            amount=Decimal("12345.67"),
            currency="EUR",
            close_date=date(2027, 1, 31),
            pipeline_id=pipeline.id,
            stage_id=stages[2].id,
            owner_user_id=uuid.uuid4(),
            account_id=account.id,
        )
        session.add(deal)
        session.flush()
        session.add(DealContact(deal_id=deal.id, contact_id=contact.id, role="decider"))
        session.add(
            DealStageChange(
                deal_id=deal.id, from_stage_id=stages[1].id, to_stage_id=stages[2].id, probability=50
            )
        )
        lead = Lead(
            first_name="Lee", last_name="Ad", email="lee@ad.example", company=AWKWARD[:200], source="web",
            rule_score=40, predicted_score=73, score_factors=[["has_phone", 1.25], ["activities", -0.5]],
        )  # fmt: skip
        session.add(lead)
        session.add(
            LeadScoreModel(
                id=1, trained_at=datetime(2026, 11, 1, 3, 0, 0, 654321, tzinfo=UTC),
                converted=12, disqualified=10,
                parameters={"features": ["has_phone"], "means": [0.5], "scales": [0.5],
                            "coefficients": [1.5], "intercept": -0.25},
            )
        )  # fmt: skip
        occurred = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
        session.add(
            Activity(
                kind="note", subject="Call notes", body=AWKWARD, contact_id=contact.id, account_id=account.id,
                occurred_at=occurred,
            )
        )  # fmt: skip
        session.add(Task(title="Follow up", due_at=datetime(2026, 12, 1, 9, tzinfo=UTC), deal_id=deal.id))
        job = ImportJob(
            entity="contacts", filename="ünï.csv", content=bytes(range(256)), mapping={"E-mail": "email"}
        )
        session.add(job)
        session.flush()
        session.add(
            ImportRowError(job_id=job.id, row_number=7, column="email", reason=AWKWARD, raw={"x": [1, None]})
        )
        _fill_vendor_import_tables(session, contact.id)
        _fill_privacy_tables(session, contact.id)
        _fill_webhook_tables(session)
        _fill_custom_field_tables(session, contact.id)
        _fill_custom_object_tables(session, account.id)
        _fill_marketing_tables(session, contact.id)
        _fill_service_tables(session, contact.id)
        _fill_chat_tables(session, contact.id)
        _fill_meeting_tables(session, contact.id)
        _fill_saved_view_tables(session)
        _fill_saved_report_tables(session)
        _fill_currency_tables(session)
        session.add(PhoneSettings(id=1, region="DE"))
        _fill_file_tables(session, contact.id)
        _fill_mailbox_tables(session, contact.id)
        _fill_quote_tables(session, deal.id, contact.id)
        _fill_website_tables(session, contact.id)
        _fill_notification_tables(session, contact.id)
        _fill_workflow_tables(session, contact.id)
        _fill_sequence_tables(session, contact.id)


def _fill_notification_tables(session, contact_id: uuid.UUID) -> None:
    """A read mention on the contact with an awkward excerpt, an unread import notice, a digest choice."""
    from saas.modules.notifications.models import Notification, NotificationSetting

    member = uuid.uuid4()
    session.add_all(
        [
            Notification(
                user_id=member, kind="mentioned", actor_user_id=uuid.uuid4(), record_type="contacts",
                record_id=contact_id, record_label=AWKWARD[:300], excerpt=AWKWARD,
                details={"actor": "a@b.example"}, read_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
            ),
            Notification(
                user_id=member, kind="import_finished", record_label="ünï.csv", dedupe_key="import:1",
                details={"status": "done", "imported_rows": 3, "page": {"endpoint": "core.show_import"}},
            ),
            NotificationSetting(user_id=member, digest=True, base_url="https://crm.example.com"),
        ]
    )  # fmt: skip


def _fill_quote_tables(session, deal_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """A product with prices in two books, a quote in two versions (one line from the product, one of free
    text), the counter and the quote settings."""
    from saas.modules.sfa import products, quotes
    from saas.modules.sfa.models import QuoteSettings

    book = products.create_price_book(session, {"name": 'Großhandel, "wholesale"', "is_default": False})
    product = products.products.create(
        session,
        {"sku": "ZÖ-1;\"x\"", "name": AWKWARD[:200], "description": LARGE[:5000], "unit": "Stück",
         "tax_rate": Decimal("19.5"),
         "prices": [{"currency": "EUR", "unit_price": Decimal("0.0001")},
                    {"currency": "JPY", "unit_price": Decimal("12345.6789"), "price_book_id": book.id}]},
    )  # fmt: skip
    first = quotes.create_quote(
        session,
        deal_id,
        {"contact_id": contact_id, "discount_percent": Decimal("2.5"), "expires_on": date(2027, 2, 28),
         "terms": AWKWARD,
         "lines": [{"product_id": product.id, "quantity": Decimal("3.125")},
                   {"description": AWKWARD[:500], "unit_price": Decimal("9.99"), "tax_rate": None}]},
    )  # fmt: skip
    quotes.new_version(session, first.id)
    session.add(QuoteSettings(id=1, acceptance_wins_deal=False))


def _fill_file_tables(session, contact_id: uuid.UUID) -> None:
    """A file on the contact: stored through the files service when S3 is configured (the round trips),
    else its row alone (tests that never read its bytes)."""
    import hashlib
    import io

    from saas.exports.storage import storage_configured
    from saas.modules.files.models import StoredFile
    from saas.modules.files.services import attach_file

    name = 'Zoë "blob", 日本.bin'
    if storage_configured(session.tenant.cell):
        attach_file(session, "contacts", contact_id, io.BytesIO(FILE_BLOB), name, contact_id=contact_id)
        return
    file_id = uuid.uuid4()
    session.add(
        StoredFile(
            id=file_id, record_type="contacts", record_id=contact_id, name=name,
            content_type="application/octet-stream", size_bytes=len(FILE_BLOB),
            sha256=hashlib.sha256(FILE_BLOB).hexdigest(), object_name=file_id.hex,
            uploaded_by_contact_id=contact_id,
        )
    )  # fmt: skip


def _fill_mailbox_tables(session, contact_id: uuid.UUID) -> None:
    """A connected mailbox with its folders, a thread of two messages (one with an attachment, stored
    when S3 is configured) on the contact's timeline, and a disconnected mailbox without a secret."""
    import hashlib
    import io

    from saas.auth.crypto import encrypt_secret
    from saas.exports.storage import storage_configured
    from saas.modules.files.services import store_object
    from saas.modules.mailbox import models as mail

    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    mailbox = mail.Mailbox(
        owner_user_id=uuid.uuid4(), email_address="sales@zoe-seller.example", imap_host="imap.example.com",
        imap_port=993, imap_security="ssl", smtp_host="smtp.example.com", smtp_port=465, smtp_security="ssl",
        username="sales@zoe-seller.example", secret_encrypted=encrypt_secret(AWKWARD), sent_folder="Sent",
        sharing="full", first_sync_days=30, excluded=["ceo@zoe.example", "private.example"],
        status="connected", last_synced_at=at, last_error=AWKWARD[:500],
    )  # fmt: skip
    gone = mail.Mailbox(
        owner_user_id=uuid.uuid4(), email_address="old@zoe-seller.example", imap_host="127.0.0.1",
        imap_port=143, imap_security="none", smtp_host="127.0.0.1", smtp_port=25, smtp_security="starttls",
        username="old", secret_encrypted=None, sharing="metadata", first_sync_days=1, excluded=[],
        status="disconnected",
    )  # fmt: skip
    # An OAuth mailbox whose provider stopped renewing it: its refresh and access tokens stay out of archives.
    renewing = mail.Mailbox(
        owner_user_id=uuid.uuid4(), email_address="oauth@zoe-seller.example", imap_host="imap.example.com",
        imap_port=993, imap_security="ssl", smtp_host="smtp.example.com", smtp_port=465, smtp_security="ssl",
        username="oauth@zoe-seller.example", secret_encrypted=encrypt_secret("refresh-" + AWKWARD),
        auth_method="oauth2", oauth_provider="google", token_expires_at=at,
        access_token_encrypted=encrypt_secret("access-" + AWKWARD),
        sharing="metadata", first_sync_days=7, excluded=[], status="reconnect",
    )  # fmt: skip
    session.add_all([mailbox, gone, renewing])
    session.flush()
    session.add_all([
        mail.MailFolder(mailbox_id=mailbox.id, name="INBOX", role="inbox", uidvalidity=4294967295, last_uid=7,
                   highest_modseq=9007199254740993),
        mail.MailFolder(mailbox_id=mailbox.id, name="Gesendete Objekte", role="sent", last_uid=0),
    ])  # fmt: skip
    thread = mail.MailThread(mailbox_id=mailbox.id, subject=AWKWARD, last_message_at=at)
    session.add(thread)
    session.flush()
    first = mail.MailMessage(
        mailbox_id=mailbox.id, thread_id=thread.id, folder="INBOX", uidvalidity=4294967295, uid=7,
        message_id_header="<a.1@zoe.example>", in_reply_to=None, references=None, direction="in",
        subject=AWKWARD, from_address="zoe@zoe.example", from_name="Zoë",
        to_addresses=["sales@zoe-seller.example"],
        cc_addresses=[], participants=["sales@zoe-seller.example", "zoe@zoe.example"], sent_at=at,
        body_text=LARGE[:20000], opens=0, clicks=0,
    )  # fmt: skip
    reply = mail.MailMessage(
        mailbox_id=mailbox.id, thread_id=thread.id, folder=None, uidvalidity=None, uid=None,
        message_id_header=None, in_reply_to="<a.1@zoe.example>", references="<a.1@zoe.example>",
        direction="out",
        subject="Re: x", from_address="sales@zoe-seller.example", from_name=None,
        to_addresses=["zoe@zoe.example"],
        cc_addresses=["a@b.example", "c@d.example"], participants=["zoe@zoe.example"], sent_at=at,
        body_text="", opens=3, clicks=1,
    )  # fmt: skip
    session.add_all([first, reply])
    session.flush()
    attachment = mail.MailAttachment(
        message_id=first.id, name='Zoë "blob", 日本.bin', content_type="application/pdf"
    )
    attachment.id = uuid.uuid4()
    attachment.object_name = attachment.id.hex
    if storage_configured(session.tenant.cell):
        attachment.size_bytes, attachment.sha256 = store_object(
            session, attachment.object_name, io.BytesIO(FILE_BLOB), "application/pdf"
        )
    else:
        attachment.size_bytes, attachment.sha256 = len(FILE_BLOB), hashlib.sha256(FILE_BLOB).hexdigest()
    session.add(attachment)
    entry = Activity(
        kind="email", subject=AWKWARD[:200], body="zoe@zoe.example → sales", contact_id=contact_id
    )
    session.add(entry)
    session.flush()
    session.add(mail.MailThreadEntry(thread_id=thread.id, activity_id=entry.id))


def _fill_currency_tables(session) -> None:
    """A base currency and rates with many decimal places (Numeric round trip)."""
    session.add(CurrencySettings(id=1, base_currency="CHF"))
    session.add_all(
        [
            ExchangeRate(base_currency="CHF", currency="EUR", rate=Decimal("0.9412345678"),
                         valid_on=date(2026, 12, 1), source="manual", actor_user_id=uuid.uuid4()),
            ExchangeRate(base_currency="CHF", currency="RUB", rate=Decimal("0.0095000001"),
                         valid_on=date(2026, 12, 2), source="ECB reference rates", actor_user_id=None),
        ]
    )  # fmt: skip


def _fill_custom_field_tables(session, contact_id: uuid.UUID) -> None:
    """Custom fields are real columns: awkward choices and values, and a deleted field (its data kept)."""
    from saas.modules.core import custom_fields

    tags = {"key": "tags", "label": AWKWARD[:100], "field_type": "multi_select", "help_text": AWKWARD[:300]}
    custom_fields.define_field(session, "contacts", {**tags, "options": ["a, b", 'q"q', "ü\nx"]})
    custom_fields.define_field(session, "contacts", {"key": "score", "label": "S", "field_type": "currency"})
    old = {"key": "old", "label": "O", "field_type": "long_text"}
    gone = custom_fields.define_field(session, "contacts", old)
    values = {"tags": ["a, b", 'q"q'], "score": "-12.50", "old": AWKWARD}
    custom_fields.write_values(session, "contacts", contact_id, values, creating=False)
    custom_fields.delete_field(session, gone.id)


def _fill_custom_object_tables(session, account_id: uuid.UUID) -> None:
    # A live object with a relation to an account and a custom field, records and a view; a deleted one
    # whose records the export keeps until a purge.
    from saas.modules.core import custom_fields, objects
    from saas.modules.core.models import SavedView

    objects.define_object(
        session, {"key": "vehicle", "singular": "Vehicle", "plural": "Vehicles", "name_label": "Plate"}
    )
    reference = {"key": "owner", "label": "Owner", "field_type": "reference", "reference": "accounts"}
    custom_fields.define_field(session, "co_vehicle", reference)
    custom_fields.define_field(session, "co_vehicle", {"key": "km", "label": "Km", "field_type": "number"})
    service = objects.service_for(session, "vehicle")
    record = service.create(session, {"name": AWKWARD[:255]})
    values = {"owner": str(account_id), "km": "12.5"}
    custom_fields.write_values(session, "co_vehicle", record.id, values, creating=True)
    service.create(session, {"name": "B-XY 1"})  # no values: NULLs in the custom columns
    gone = objects.define_object(session, {"key": "old_thing", "singular": "Old", "plural": "Olds"})
    objects.service_for(session, "old_thing").create(session, {"name": "kept"})
    objects.delete_object(session, gone.id)
    session.add(
        SavedView(entity="co_vehicle", name="By km", query={"sort": "-cf_km"}, owner_user_id=uuid.uuid4())
    )


def _fill_privacy_tables(session, contact_id: uuid.UUID) -> None:
    purpose = session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == "email_marketing"))
    notice = purpose.notices[0]
    session.add(
        ConsentEvent(
            contact_id=contact_id, purpose_id=purpose.id, notice_id=notice.id, status="granted",
            lawful_basis="consent", source="form", ip="192.0.2.1", user_agent=AWKWARD[:300], actor="user:x",
        )
    )  # fmt: skip
    received = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    request = PrivacyRequest(
        kind="rectification", contact_id=contact_id, channel="staff", verification_method="in_person",
        status="verified", details=AWKWARD, received_at=received, due_at=received.replace(month=12),
        report={"contacts": 0},
    )  # fmt: skip
    request.trail = [PrivacyRequestStep(action="received", actor="user:x", note=AWKWARD[:500])]
    session.add_all([request, PrivacyLinkUse(link_id="used-link"), SuppressedEmail(email_hash="ab" * 32)])
    session.add(
        PrivacySettings(id=1, suppression_salt="cd" * 32, brand_name=AWKWARD[:200], brand_color="#aabbcc")
    )
    session.add(RetentionPolicy(id=1, months=24, enabled=False, last_report={"contacts": 3}))


def empty_tables(fixture) -> list[str]:
    with tenant_session(fixture.ref) as session:
        return [
            spec.name
            for spec in tenant_tables()
            if session.scalar(select(func.count()).select_from(spec.table)) == 0
        ]


def _fill_webhook_tables(session) -> None:
    from saas.webhooks.models import WebhookDelivery, WebhookSubscription

    subscription = WebhookSubscription(
        url="https://hooks.example.com/ünï?a=1&b=2", description=AWKWARD[:200], events=["deal.created", "*"],
        secret="whsec_" + "x" * 40, is_active=False, consecutive_failures=5, disabled_reason=AWKWARD[:200],
    )  # fmt: skip
    session.add(subscription)
    session.flush()
    session.add(
        WebhookDelivery(
            subscription_id=subscription.id, event="deal.created", payload={"title": AWKWARD, "n": [1, None]},
            status="failed", attempts=6, last_status_code=503, last_error=AWKWARD,
        )
    )  # fmt: skip


def _fill_service_tables(session, contact_id: uuid.UUID) -> None:
    """Tickets with a thread and history, a queue with a member, SLA calendar and holiday, KB articles.

    The calendar, policies and default queue are seeded at provisioning; the rest is added here.
    """
    from saas.modules.service.models import (
        Article,
        ArticleCategory,
        Macro,
        QueueMember,
        ServiceHoliday,
        Ticket,
        TicketEvent,
        TicketMessage,
    )
    from saas.modules.service.queues import default_queue

    queue = default_queue(session)
    session.add(QueueMember(queue_id=queue.id, user_id=uuid.uuid4()))
    session.add(ServiceHoliday(day=date(2026, 12, 25), name=AWKWARD[:100]))
    opened = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    ticket = Ticket(
        subject=AWKWARD[:200], description=LARGE, status="pending_customer", priority="urgent",
        channel="email", requester_contact_id=contact_id, queue_id=queue.id, tags=["vip", "ünï, \"x\""],
        sla_elapsed_minutes=37,
        first_response_due_at=opened, first_responded_at=opened, email_message_id="<a@b.example>",
        csat_rating=None, csat_comment=None,
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    session.add_all([
        TicketMessage(ticket_id=ticket.id, kind="public", body=AWKWARD, author_contact_id=contact_id,
                      channel="email", email_message_id="<reply@b.example>", created_at=opened),
        TicketMessage(ticket_id=ticket.id, kind="note", body="", author_user_id=uuid.uuid4(),
                      channel="web_form", mail_status=None, created_at=opened),
        TicketEvent(ticket_id=ticket.id, action="status.changed", details={"from": "open", "to": AWKWARD},
                    actor="user", created_at=opened),
    ])  # fmt: skip
    category = ArticleCategory(name=AWKWARD[:100], position=0)
    session.add(category)
    session.flush()
    session.add(Article(title=AWKWARD[:200], body=LARGE, status="published", category_id=category.id,
                        published_at=opened))  # fmt: skip
    session.add_all([
        Macro(name=AWKWARD[:100], scope="shared", reply="Hi {{ contact.first_name }},\n" + AWKWARD,
              reply_kind="public", status="pending_customer", priority="high", queue_id=queue.id,
              assignee_user_id=uuid.uuid4(), tags=["vip", "ünï, \"x\""]),
        Macro(name="", scope="personal", owner_user_id=uuid.uuid4(), reply=None, reply_kind="note",
              status=None, priority=None, queue_id=None, assignee_user_id=None, tags=[]),
    ])  # fmt: skip


def _fill_chat_tables(session, contact_id: uuid.UUID) -> None:
    """A chat filed as the service fixture's ticket, with both authors; an anonymous one still waiting."""
    from saas.modules.chat.models import Chat, ChatMessage
    from saas.modules.service.models import Ticket

    at = datetime(2026, 11, 3, 10, 0, 5, 123456, tzinfo=UTC)
    filed = Chat(
        status="closed", visitor_name=AWKWARD[:100], visitor_email="zoe@zoe.example", contact_id=contact_id,
        token_hash="a" * 64, page_url="https://zoe.example/ünï?a=1&b=\"2\"", assignee_user_id=uuid.uuid4(),
        ticket_id=session.scalar(select(Ticket.id).limit(1)), closed_at=at,
    )  # fmt: skip
    anonymous = Chat(status="waiting", token_hash="b" * 64)
    session.add_all([filed, anonymous])
    session.flush()
    session.add_all([
        ChatMessage(chat_id=filed.id, author="visitor", body=AWKWARD, created_at=at),
        ChatMessage(chat_id=filed.id, author="agent", author_user_id=uuid.uuid4(), body=LARGE[:5000],
                    created_at=at),
        ChatMessage(chat_id=anonymous.id, author="visitor", body="", created_at=at),
    ])  # fmt: skip


def _fill_website_tables(session, contact_id: uuid.UUID) -> None:
    """The site's settings, a visitor joined to the contact and an anonymous one, their raw views (an
    awkward path and title, a NULL referrer), and a rolled-up day."""
    from saas.modules.website.models import WebsiteDailyPage, WebsitePageView, WebsiteSettings, WebsiteVisitor

    at = datetime(2026, 11, 4, 8, 15, 0, 654321, tzinfo=UTC)
    session.add(
        WebsiteSettings(id=1, origins=["https://zoe.example", "http://localhost:8080"], retention_days=30,
                        rolled_up_through=date(2026, 11, 2))
    )  # fmt: skip
    known = WebsiteVisitor(id=uuid.uuid4(), contact_id=contact_id, first_seen_at=at, last_seen_at=at,
                           identified_at=at)  # fmt: skip
    anonymous = WebsiteVisitor(id=uuid.uuid4(), first_seen_at=at, last_seen_at=at)
    session.add_all([known, anonymous])
    session.flush()
    session.add_all([
        WebsitePageView(visitor_id=known.id, session_id=uuid.uuid4(), occurred_at=at, path="/ünï/\"q\",x",
                        title=AWKWARD[:300], referrer="https://search.example"),
        WebsitePageView(visitor_id=anonymous.id, session_id=uuid.uuid4(), occurred_at=at, path="/",
                        title=None, referrer=None),
    ])  # fmt: skip
    session.add(WebsiteDailyPage(day=date(2026, 11, 2), path="/pricing", views=7, visitors=3, sessions=4))


def _fill_meeting_tables(session, contact_id: uuid.UUID) -> None:
    """A calendar connection, a booking link, a booked meeting on the contact's timeline, and a meeting
    found in the calendar that nobody attends any more."""
    from saas.modules.meetings.models import (
        Booking,
        BookingSettings,
        BookingTeam,
        BookingTeamMember,
        CalendarConnection,
        Meeting,
        MeetingContact,
    )

    user_id = uuid.uuid4()
    at, end = datetime(2026, 11, 4, 9, 30, tzinfo=UTC), datetime(2026, 11, 4, 10, 15, tzinfo=UTC)
    session.add(CalendarConnection(
        user_id=user_id, url="https://dav.zoe.example/ünï/", calendar_url="https://dav.zoe.example/ünï/work/",
        username=AWKWARD[:254], password_encrypted="gAAAA-not-a-real-token", sync_token="http://x/sync/1",
        last_synced_at=at, last_error=None,
    ))  # fmt: skip
    session.add(BookingSettings(
        user_id=user_id, handle="zoe-o-brien", enabled=True, title=AWKWARD[:200], time_zone="Asia/Tehran",
        work_days="13567", start_minute=510, end_minute=1020, slot_minutes=45, buffer_minutes=10,
        notice_minutes=0, horizon_days=90,
    ))  # fmt: skip
    entry = Activity(kind="meeting", subject="Booked", occurred_at=at, contact_id=contact_id)
    booked = Meeting(
        uid="ünï-1@zoe.example", user_id=user_id, title=AWKWARD[:200], description=LARGE[:3000],
        location="Room \"7\"", starts_at=at, ends_at=end, source="booking",
        sequence=2, event_href="https://dav.zoe.example/ünï/work/1.ics", etag='"abc"', pushed_at=at,
    )  # fmt: skip
    orphan = Meeting(
        uid="orphan@zoe.example", user_id=user_id, title="", starts_at=at, ends_at=end,
        source="calendar", cancelled=True,
    )  # fmt: skip
    session.add_all([entry, booked, orphan])
    session.flush()
    session.add(MeetingContact(meeting_id=booked.id, contact_id=contact_id, activity_id=entry.id))
    team = BookingTeam(handle="sales-team", title=AWKWARD[:200], enabled=False)
    session.add(team)
    session.flush()
    session.add(BookingTeamMember(team_id=team.id, user_id=user_id))
    session.add(Booking(
        user_id=user_id, starts_at=at, ends_at=booked.ends_at, visitor_name=AWKWARD[:200],
        visitor_email="zoe@zoe.example", visitor_time_zone="Asia/Tehran", locale="fa", note=AWKWARD,
        contact_id=contact_id, meeting_id=booked.id,
    ))  # fmt: skip


def _fill_marketing_tables(session, contact_id: uuid.UUID) -> None:
    from saas.modules.marketing.models import (
        Campaign,
        CampaignABTest,
        CampaignEvent,
        CampaignLink,
        CampaignRecipient,
        CampaignVariant,
        FormSubmission,
        MarketingForm,
        MarketingSettings,
        Segment,
        SegmentMember,
    )  # fmt: skip

    session.add(
        MarketingSettings(
            id=1, from_name=AWKWARD[:100], from_email="news@zoe.example", time_zone="Asia/Tokyo"
        )
    )
    rules = Segment(
        name=AWKWARD[:200],
        kind="rules",
        match="any",
        rules=[{"field": "email", "op": "contains", "value": AWKWARD}],
    )
    static = Segment(name="Static", kind="static", rules=[])
    session.add_all([rules, static])
    session.flush()
    session.add(SegmentMember(segment_id=static.id, contact_id=contact_id))
    campaign = Campaign(
        name=AWKWARD[:200], subject="Hi {{ first_name }}", html_body=f"<p>{LARGE[:5000]}</p>",
        text_body=AWKWARD, segment_id=rules.id, status="sent", base_url="https://crm.example",
        audience={"queued": 1, "no_consent": 0}, scheduled_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
    )  # fmt: skip
    campaign.links = [CampaignLink(url="https://zoe.example/ünï?a=1&b=2", position=0)]
    campaign.variants = [
        CampaignVariant(locale="fa", subject="سلام {{ first_name }}", html_body=f"<p>{AWKWARD}</p>",
                        text_body="‏متن\r\nساده"),
    ]  # fmt: skip
    campaign.ab_test = CampaignABTest(
        sample_percent=20, metric="clicks", wait_hours=4, seed=2**61 + 7, winner=1, decision="tie",
        arms=[{"subject": AWKWARD[:200], "html_body": "", "text_body": ""},
              {"subject": "", "html_body": f"<p>{AWKWARD}</p>", "text_body": "‏متن"}],
        decide_at=datetime(2026, 11, 1, 13, tzinfo=UTC), decided_at=datetime(2026, 11, 1, 13, 1, tzinfo=UTC),
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    recipient = CampaignRecipient(
        campaign_id=campaign.id, contact_id=contact_id, email="zoe@zoe.example", locale="fa", ab_arm=1,
        status="sent",
        attempts=2, last_error="SMTP 451", sent_at=datetime(2026, 11, 1, 9, 1, tzinfo=UTC),
    )  # fmt: skip
    session.add(recipient)
    session.flush()
    session.add(
        CampaignEvent(
            campaign_id=campaign.id, recipient_id=recipient.id, kind="click", link_id=campaign.links[0].id
        )
    )
    form = MarketingForm(
        name=AWKWARD[:200],
        fields=["first_name", "email"],
        purposes=["email_marketing"],
        thank_you=AWKWARD[:500],
    )
    session.add(form)
    session.flush()
    session.add(
        FormSubmission(form_id=form.id, contact_id=contact_id, lead_id=None, consents=["email_marketing"])
    )


def _fill_saved_view_tables(session) -> None:
    # Valid views and reports (the import checks them as the API would), with awkward text in them.
    from saas.modules.core.models import SavedView

    session.add_all(
        [
            SavedView(
                entity="contacts",
                name=AWKWARD[:100],
                query={"q": AWKWARD[:200], "cf_tags": "a, b", "sort": "-cf_score"},
                columns=["name", "cf_tags"],
                owner_user_id=uuid.uuid4(),
                shared=True,
            ),
            SavedView(entity="leads", name="Empty", query={}, owner_user_id=uuid.uuid4(), shared=False),
        ]
    )


def _fill_saved_report_tables(session) -> None:
    from saas.modules.core.models import SavedReport

    session.add_all(
        [
            SavedReport(
                name=AWKWARD[:100],
                params={
                    "entity": "contacts",
                    "group_by": "title",
                    "measure": "count",
                    "filters": {"title": 'a,"b"\nc'},
                },
                owner_user_id=uuid.uuid4(),
                pinned=True,
            ),
            SavedReport(
                name="Plain",
                params={"entity": "accounts", "group_by": "industry", "measure": "count"},
                owner_user_id=uuid.uuid4(),
                pinned=False,
            ),
        ]
    )


def _fill_workflow_tables(session, contact_id: uuid.UUID) -> None:
    """A switched-off workflow with a run part way (its history, its email sent and opened), a segment
    trigger's last membership and a date trigger's hit."""
    from saas.modules.workflows.models import (
        Workflow,
        WorkflowDateHit,
        WorkflowEmail,
        WorkflowEnrolment,
        WorkflowSegmentMember,
        WorkflowStepRun,
    )  # fmt: skip

    at = datetime(2026, 11, 2, 8, 0, 1, 654321, tzinfo=UTC)
    steps = [
        {"type": "wait", "amount": 1, "unit": "days", "until": ""},
        {"type": "create_task", "title": AWKWARD[:200], "due_days": 0, "assignee": "owner"},
    ]
    workflow = Workflow(
        name=AWKWARD[:200], enabled=False, trigger={"type": "record_created", "record_type": "contacts"},
        conditions=[{"field": "email", "op": "contains", "value": AWKWARD}], steps=steps, version=2,
        created_by_user_id=uuid.uuid4(), base_url=None, round_robin={"0": 3},
    )  # fmt: skip
    session.add(workflow)
    session.flush()
    run = WorkflowEnrolment(
        workflow_id=workflow.id, version=1, steps=steps, record_type="contacts", record_id=contact_id,
        contact_id=contact_id, status="active", step_index=0, next_run_at=at, wait_started_at=at,
        chain=[f"{uuid.uuid4()}:{contact_id}"], trigger_event="contact.created", enrolled_at=at, reason=None,
    )  # fmt: skip
    session.add(run)
    session.flush()
    session.add(
        WorkflowStepRun(
            enrolment_id=run.id, step_index=0, attempt_key="wait", kind="wait", outcome="waiting",
            detail=AWKWARD[:500], at=at,
        )
    )  # fmt: skip
    session.add(
        WorkflowEmail(
            enrolment_id=run.id, step_index=1, contact_id=contact_id, template_id=uuid.uuid4(),
            email="zoe@zoe.example", status="sent", attempts=1, sent_at=at, opened_at=at,
        )
    )  # fmt: skip
    session.add(WorkflowSegmentMember(workflow_id=workflow.id, contact_id=contact_id))
    session.add(WorkflowDateHit(workflow_id=workflow.id, record_id=contact_id, due_on=date(2026, 12, 24)))


def _fill_sequence_tables(session, contact_id: uuid.UUID) -> None:
    """A sequence with an enrolment waiting part way (its history, its first email sent through a
    mailbox thread) and a replied one."""
    from saas.modules.sequences.models import Sequence, SequenceEmail, SequenceEnrolment, SequenceEvent

    at = datetime(2026, 11, 3, 9, 0, 1, 654321, tzinfo=UTC)
    steps = [
        {"type": "email", "subject": AWKWARD[:200], "body": AWKWARD},
        {"type": "wait", "amount": 2, "unit": "days"},
        {"type": "task", "title": AWKWARD[:200], "due_days": 1},
    ]
    sequence = Sequence(name=AWKWARD[:200], owner_user_id=uuid.uuid4(), steps=steps)
    session.add(sequence)
    session.flush()
    waiting = SequenceEnrolment(
        sequence_id=sequence.id, contact_id=contact_id, user_id=uuid.uuid4(), steps=steps, status="active",
        step_index=1, next_run_at=at, wait_started_at=at, enrolled_at=at, reason=None,
    )  # fmt: skip
    replied = SequenceEnrolment(
        sequence_id=sequence.id, contact_id=contact_id, user_id=None, steps=steps[:1], status="replied",
        step_index=1, enrolled_at=at, finished_at=at, reason=AWKWARD[:300],
    )  # fmt: skip
    session.add_all([waiting, replied])
    session.flush()
    session.add_all(
        [
            SequenceEvent(enrolment_id=waiting.id, step_index=0, attempt_key="done", kind="email",
                          outcome="done", detail=AWKWARD[:500], at=at),
            SequenceEvent(enrolment_id=waiting.id, step_index=1, attempt_key="wait", kind="wait",
                          outcome="waiting", detail="", at=at),
            SequenceEvent(enrolment_id=replied.id, step_index=1, attempt_key=uuid.uuid4().hex, kind="stop",
                          outcome="replied", detail=AWKWARD[:500], at=at),
            SequenceEmail(enrolment_id=waiting.id, step_index=0, contact_id=contact_id, user_id=uuid.uuid4(),
                          email="zoe@zoe.example", subject=AWKWARD[:998], body=AWKWARD, status="sent",
                          attempts=1, sent_at=at, message_id_header="<s1.x@zoe.example>",
                          mail_thread_id=uuid.uuid4()),
        ]
    )  # fmt: skip
