"""What each CRM's export looks like: its files, their columns, and which of our fields each one fills.

A vendor's export is a set of CSV files, one per object (Salesforce's Data Export ZIP, HubSpot's per-object
exports, Twenty's and EspoCRM's list exports). A format names each object's file, its id column, the
columns we know (with the field of ours they fill), the columns that point at other records, the owner
column and the consent flags; every other column is offered to the admin as a custom field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Link:
    """A column holding the vendor's id of another record (or several, separated by ``;``)."""

    field: str
    """Ours: ``account_id``, ``contact_ids``, ``requester_contact_id``, ``contact_id``, ``about``."""
    column: str
    objects: tuple[str, ...] = ()
    """The vendor objects the id may be of; empty: any (Salesforce's ``WhatId``: ids are unique org-wide)."""


@dataclass(frozen=True)
class ConsentFlag:
    """A column whose true value is a consent choice (an unsubscribe flag)."""

    column: str
    purpose: str
    status: str = "withdrawn"
    at_column: str | None = None
    """A column with the time of the choice, where the file has one."""


@dataclass(frozen=True)
class ObjectFormat:
    object: str
    """The vendor's name of the object (``Contact``, ``contacts``), also its key in reports and choices."""
    kind: str
    """What it becomes here: ``accounts``, ``contacts``, ``leads``, ``deals``, ``tickets``, ``activities``."""
    files: tuple[str, ...]
    """Words a file's name contains (lower case) when it holds this object."""
    id_column: str
    columns: dict[str, str]
    """The vendor's column → our field."""
    links: tuple[Link, ...] = ()
    owner: str | None = None
    """A column naming the record's owner: an email, or a user id resolved through the users file."""
    consents: tuple[ConsentFlag, ...] = ()
    known: tuple[str, ...] = ()
    """Columns understood and deliberately left out (system fields): never offered as custom fields."""
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Our field → the vendor's value (lower case) → ours (a lead's status, a ticket's priority)."""
    defaults: dict[str, str] = field(default_factory=dict)
    """Our field → its value when the file has none (a Salesforce opportunity's pipeline)."""

    def used_columns(self) -> set[str]:
        used = {self.id_column, *self.columns, *(link.column for link in self.links), *self.known}
        used |= {flag.column for flag in self.consents} | {f.at_column for f in self.consents if f.at_column}
        return used | ({self.owner} if self.owner else set())


@dataclass(frozen=True)
class UsersFormat:
    """The file of the vendor's users, read only to match owners to our members by email."""

    files: tuple[str, ...]
    id_column: str
    email_column: str


@dataclass(frozen=True)
class VendorFormat:
    key: str
    title: str
    documentation: str
    """The vendor's page describing its export, cited in the fixtures."""
    objects: tuple[ObjectFormat, ...]
    users: UsersFormat | None = None
    exact_names: bool = False
    """Files are named exactly after their object (Salesforce's ``Contact.csv``, while
    ``OpportunityContactRole.csv`` is another object); otherwise a name containing the object's word will
    do (HubSpot's dated names)."""

    def object(self, name: str) -> ObjectFormat:
        return next(spec for spec in self.objects if spec.object == name)

    def object_for_file(self, filename: str) -> ObjectFormat | None:
        """The object a file holds, by its name: the whole name, else the longest word of an object in it."""
        base = re.sub(r"\.csv$", "", filename.rsplit("/", 1)[-1].lower())
        exact = [spec for spec in self.objects if base in spec.files]
        if exact or self.exact_names:
            return exact[0] if exact else None
        matches = [(len(word), spec) for spec in self.objects for word in spec.files if word in base]
        return max(matches, key=lambda match: match[0])[1] if matches else None

    def is_users_file(self, filename: str) -> bool:
        base = re.sub(r"\.csv$", "", filename.rsplit("/", 1)[-1].lower())
        return self.users is not None and base in self.users.files


KINDS_IN_ORDER = ("accounts", "contacts", "leads", "deals", "tickets", "activities")
"""Objects are imported in this order, so that a record's relations exist before it."""

_SF_SYSTEM = (
    "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
    "LastActivityDate", "LastViewedDate", "LastReferencedDate", "MasterRecordId", "PhotoUrl", "Jigsaw",
    "JigsawCompanyId", "JigsawContactId", "CleanStatus", "IsEmailBounced", "EmailBouncedReason",
    "EmailBouncedDate", "RecordTypeId", "ConnectionReceivedId", "ConnectionSentId",
)  # fmt: skip
_SF_PRIORITY = {"high": "high", "medium": "normal", "low": "low"}
_SF_LEAD_STATUS = {
    "open - not contacted": "new",
    "working - contacted": "working",
    "closed - converted": "qualified",
    "closed - not converted": "disqualified",
}
_SF_ACTIVITY_KIND = {"call": "call", "email": "email", "listemail": "email", "task": "note", "": "note"}

SALESFORCE = VendorFormat(
    key="salesforce",
    title="Salesforce",
    documentation="https://help.salesforce.com/s/articleView?id=sf.admin_exportdata.htm",
    users=UsersFormat(("user",), "Id", "Email"),
    exact_names=True,
    objects=(
        ObjectFormat(
            "Account", "accounts", ("account",), "Id",
            {"Name": "name", "Website": "domain", "Industry": "industry", "Phone": "phone",
             "Description": "notes"},
            owner="OwnerId", known=(*_SF_SYSTEM, "ParentId", "Fax"),
        ),
        ObjectFormat(
            "Contact", "contacts", ("contact",), "Id",
            {"FirstName": "first_name", "LastName": "last_name", "Email": "email", "Phone": "phone",
             "Title": "title", "Description": "notes"},
            links=(Link("account_id", "AccountId", ("Account",)),),
            owner="OwnerId",
            consents=(ConsentFlag("HasOptedOutOfEmail", "email_marketing"),),
            known=(*_SF_SYSTEM, "Name", "Salutation", "ReportsToId", "Fax", "HasOptedOutOfFax", "DoNotCall"),
        ),
        ObjectFormat(
            "Lead", "leads", ("lead",), "Id",
            {"FirstName": "first_name", "LastName": "last_name", "Email": "email", "Phone": "phone",
             "Company": "company", "Title": "title", "Status": "status", "LeadSource": "source",
             "Description": "notes"},
            owner="OwnerId", values={"status": _SF_LEAD_STATUS},
            known=(*_SF_SYSTEM, "Name", "Salutation", "IsConverted", "ConvertedDate", "ConvertedAccountId",
                   "ConvertedContactId", "ConvertedOpportunityId", "IsUnreadByOwner", "HasOptedOutOfEmail",
                   "HasOptedOutOfFax", "DoNotCall", "Fax"),
        ),
        ObjectFormat(
            "Opportunity", "deals", ("opportunity",), "Id",
            {"Name": "name", "Amount": "amount", "CloseDate": "close_date", "StageName": "stage",
             "Probability": "stage_probability", "IsWon": "stage_won", "IsClosed": "stage_closed",
             "CurrencyIsoCode": "currency", "Description": "notes"},
            links=(Link("account_id", "AccountId", ("Account",)),),
            owner="OwnerId", defaults={"pipeline": "Salesforce"},
            known=(*_SF_SYSTEM, "ExpectedRevenue", "ForecastCategory", "ForecastCategoryName", "Pricebook2Id",
                   "HasOpportunityLineItem", "IsPrivate", "FiscalQuarter", "FiscalYear", "Fiscal"),
        ),
        ObjectFormat(
            "Case", "tickets", ("case",), "Id",
            {"Subject": "subject", "Description": "description", "Priority": "priority"},
            links=(Link("requester_contact_id", "ContactId", ("Contact",)),),
            owner="OwnerId", values={"priority": _SF_PRIORITY},
            known=(*_SF_SYSTEM, "AccountId", "CaseNumber", "IsClosed", "ClosedDate", "IsEscalated",
                   "SuppliedName", "SuppliedEmail", "SuppliedPhone", "SuppliedCompany", "ParentId"),
        ),
        ObjectFormat(
            "Task", "activities", ("task",), "Id",
            {"Subject": "subject", "Description": "body", "ActivityDate": "occurred_at",
             "TaskSubtype": "kind"},
            links=(Link("about", "WhoId"), Link("about", "WhatId")),
            values={"kind": _SF_ACTIVITY_KIND},
            known=(*_SF_SYSTEM, "OwnerId", "Status", "Priority", "IsClosed", "IsHighPriority", "AccountId",
                   "IsReminderSet", "ReminderDateTime", "CallType", "CallDurationInSeconds", "IsArchived"),
        ),
        ObjectFormat(
            "Note", "activities", ("note",), "Id",
            {"Title": "subject", "Body": "body", "CreatedDate": "occurred_at"},
            links=(Link("about", "ParentId"),),
            known=(*(c for c in _SF_SYSTEM if c != "CreatedDate"), "OwnerId", "IsPrivate"),
        ),
    ),
)  # fmt: skip

_HS_SYSTEM = ("Create Date", "Last Modified Date", "Last Activity Date", "Object Create Date/Time")
_HS_PRIORITY = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}

HUBSPOT = VendorFormat(
    key="hubspot",
    title="HubSpot",
    documentation="https://knowledge.hubspot.com/import-and-export/export-records",
    objects=(
        ObjectFormat(
            "companies", "accounts", ("companies", "company"), "Record ID",
            {"Company name": "name", "Company Domain Name": "domain", "Industry": "industry",
             "Phone Number": "phone", "Description": "notes"},
            owner="Company owner", known=_HS_SYSTEM,
        ),
        ObjectFormat(
            "contacts", "contacts", ("contacts", "contact"), "Record ID",
            {"First Name": "first_name", "Last Name": "last_name", "Email": "email",
             "Phone Number": "phone", "Job Title": "title"},
            links=(Link("account_id", "Associated Company IDs", ("companies",)),),
            owner="Contact owner",
            consents=(ConsentFlag("Unsubscribed from all email", "email_marketing"),),
            known=(*_HS_SYSTEM, "Associated Company", "Company Name"),
        ),
        ObjectFormat(
            "deals", "deals", ("deals", "deal"), "Record ID",
            {"Deal Name": "name", "Amount": "amount", "Close Date": "close_date", "Pipeline": "pipeline",
             "Deal Stage": "stage", "Currency": "currency", "Deal Description": "notes"},
            links=(Link("account_id", "Associated Company IDs", ("companies",)),
                   Link("contact_ids", "Associated Contact IDs", ("contacts",))),
            owner="Deal owner", known=(*_HS_SYSTEM, "Associated Company", "Associated Contact"),
        ),
        ObjectFormat(
            "tickets", "tickets", ("tickets", "ticket"), "Record ID",
            {"Ticket name": "subject", "Ticket description": "description", "Priority": "priority"},
            links=(Link("requester_contact_id", "Associated Contact IDs", ("contacts",)),),
            owner="Ticket owner", values={"priority": _HS_PRIORITY},
            known=(*_HS_SYSTEM, "Pipeline", "Associated Contact"),
        ),
        ObjectFormat(
            "notes", "activities", ("notes", "note"), "Record ID",
            {"Note body": "body", "Activity date": "occurred_at"},
            links=(Link("about", "Associated Contact IDs", ("contacts",)),
                   Link("about", "Associated Company IDs", ("companies",)),
                   Link("about", "Associated Deal IDs", ("deals",))),
            known=(*_HS_SYSTEM, "Activity assigned to"),
        ),
    ),
)  # fmt: skip

TWENTY = VendorFormat(
    key="twenty",
    title="Twenty",
    documentation="https://docs.twenty.com/user-guide/data-migration/how-tos/export-your-data",
    objects=(
        ObjectFormat(
            "companies", "accounts", ("companies", "company"), "Id",
            {"Name": "name", "Domain Name / Primary Link Url": "domain", "Phone": "phone"},
            owner="Account Owner / Email",
            known=("Created at", "Updated at", "Created by / Name", "Position"),
        ),
        ObjectFormat(
            "people", "contacts", ("people", "person"), "Id",
            {"Name / First Name": "first_name", "Name / Last Name": "last_name",
             "Emails / Primary Email": "email", "Phones / Primary Phone Number": "phone",
             "Job Title": "title"},
            links=(Link("account_id", "Company / Id", ("companies",)),),
            known=("Created at", "Updated at", "Created by / Name", "Position", "Company / Name",
                   "Phones / Primary Phone Country Code", "Emails / Additional Emails"),
        ),
        ObjectFormat(
            "opportunities", "deals", ("opportunities", "opportunity"), "Id",
            {"Name": "name", "Amount / Amount Micros": "amount_micros", "Amount / Currency Code": "currency",
             "Close Date": "close_date", "Stage": "stage"},
            links=(Link("account_id", "Company / Id", ("companies",)),
                   Link("contact_ids", "Point of Contact / Id", ("people",))),
            owner="Owner / Email", defaults={"pipeline": "Twenty"},
            values={"stage": {"new": "New", "screening": "Screening", "meeting": "Meeting",
                              "proposal": "Proposal", "customer": "Customer"}},
            known=("Created at", "Updated at", "Created by / Name", "Position", "Company / Name",
                   "Point of Contact / Name"),
        ),
    ),
)  # fmt: skip

_ESPO_SYSTEM = ("createdAt", "modifiedAt", "createdById", "createdByName", "modifiedById", "modifiedByName",
                "deleted", "assignedUserName", "teamsIds", "teamsNames")  # fmt: skip

ESPOCRM = VendorFormat(
    key="espocrm",
    title="EspoCRM",
    documentation="https://docs.espocrm.com/user-guide/export/",
    users=UsersFormat(("user",), "id", "emailAddress"),
    exact_names=True,
    objects=(
        ObjectFormat(
            "Account", "accounts", ("account",), "id",
            {"name": "name", "website": "domain", "industry": "industry", "phoneNumber": "phone",
             "description": "notes"},
            known=(*_ESPO_SYSTEM, "assignedUserId", "emailAddress"),
        ),
        ObjectFormat(
            "Contact", "contacts", ("contact",), "id",
            {"firstName": "first_name", "lastName": "last_name", "emailAddress": "email",
             "phoneNumber": "phone", "title": "title", "description": "notes"},
            links=(Link("account_id", "accountId", ("Account",)),),
            consents=(ConsentFlag("emailAddressIsOptedOut", "email_marketing"),),
            known=(*_ESPO_SYSTEM, "assignedUserId", "name", "accountName", "salutationName"),
        ),
        ObjectFormat(
            "Lead", "leads", ("lead",), "id",
            {"firstName": "first_name", "lastName": "last_name", "emailAddress": "email",
             "phoneNumber": "phone", "accountName": "company", "title": "title", "status": "status",
             "source": "source", "description": "notes"},
            owner="assignedUserId",
            values={"status": {"new": "new", "assigned": "working", "in process": "working",
                               "converted": "qualified", "recycled": "working", "dead": "disqualified"}},
            known=(*_ESPO_SYSTEM, "name", "salutationName", "emailAddressIsOptedOut"),
        ),
        ObjectFormat(
            "Opportunity", "deals", ("opportunity",), "id",
            {"name": "name", "amount": "amount", "amountCurrency": "currency", "closeDate": "close_date",
             "stage": "stage", "probability": "stage_probability", "description": "notes"},
            links=(Link("account_id", "accountId", ("Account",)),
                   Link("contact_ids", "contactId", ("Contact",))),
            owner="assignedUserId", defaults={"pipeline": "EspoCRM"},
            known=(*_ESPO_SYSTEM, "accountName", "contactName", "leadSource"),
        ),
        ObjectFormat(
            "Case", "tickets", ("case",), "id",
            {"name": "subject", "description": "description", "priority": "priority"},
            links=(Link("requester_contact_id", "contactId", ("Contact",)),),
            owner="assignedUserId",
            values={"priority": {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}},
            known=(*_ESPO_SYSTEM, "number", "accountId", "accountName", "contactName", "status", "type"),
        ),
    ),
)  # fmt: skip

VENDORS: dict[str, VendorFormat] = {v.key: v for v in (HUBSPOT, SALESFORCE, TWENTY, ESPOCRM)}


# --- values -------------------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "y", "x"}


def is_true(value: str) -> bool:
    return value.strip().lower() in _TRUE


_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f%z",  # Salesforce: 2024-03-05T14:22:10.000Z
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",  # EspoCRM (UTC)
    "%Y-%m-%d %H:%M",  # HubSpot
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)


def parse_datetime(value: str) -> datetime | None:
    """A vendor's time (UTC when it names no zone), or None when it is none of the formats they write."""
    text = value.strip().replace("Z", "+0000")
    for pattern in _DATETIME_FORMATS:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def parse_date(value: str) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def _amount(value: str) -> str:
    return value.replace(",", "").replace(" ", "")


def _micros(value: str) -> str:
    # Twenty stores amounts in millionths of the currency unit.
    try:
        return str((Decimal(value) / 1_000_000).quantize(Decimal("0.01")))
    except InvalidOperation:
        return value


def convert(field_name: str, value: str) -> tuple[str, str]:
    """(our field, our text) for a vendor's value: dates in ISO, amounts as plain decimals."""
    if field_name == "close_date":
        parsed_date = parse_date(value)
        return field_name, parsed_date.isoformat() if parsed_date else value
    if field_name == "occurred_at":
        parsed = parse_datetime(value)
        return field_name, parsed.isoformat() if parsed else value
    if field_name == "domain":  # a website as the CRM keeps it: https://www.example.com/about
        return field_name, re.sub(r"^(https?://)?(www\.)?", "", value.lower()).split("/", 1)[0]
    if field_name == "amount":
        return field_name, _amount(value)
    if field_name == "amount_micros":
        return "amount", _micros(value)
    return field_name, value


def custom_key(column: str) -> str:
    """A custom field's key for a vendor's column (``Lifecycle Stage`` → ``lifecycle_stage``)."""
    key = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")
    key = key if key[:1].isalpha() else f"f_{key}"
    return key[:40].rstrip("_") or "field"
