"""Deterministic sample exports of other CRMs, in each vendor's published format, for the vendor import's
tests, its browser journey and its benchmark. Generated, not committed: hundreds of rows with relations.

Formats and where they are documented:

- Salesforce Data Export ZIP (Setup > Data Export: one CSV per object, field API names as headers,
  18-character case-safe Ids, relations by AccountId / WhoId / WhatId / ParentId, datetimes as
  ``2024-03-05T14:22:10.000Z``, booleans ``true``/``false``, UTF-8):
  https://help.salesforce.com/s/articleView?id=sf.admin_exportdata.htm
  Field names per object: https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-contact.html
  (and the same reference for Account, Lead, Opportunity, Case, Task, Note; HasOptedOutOfEmail is
  "Email Opt Out" on Contact and Lead).
- HubSpot per-object exports (Contacts, Companies, Deals, Tickets, Notes; property labels as headers,
  "Record ID", owners by email, associations as "Associated Company IDs" etc. separated by ``;``,
  datetimes as ``2024-03-05 14:22``, UTF-8 with BOM):
  https://knowledge.hubspot.com/import-and-export/export-records and the column rules of
  https://knowledge.hubspot.com/crm-setup/set-up-your-import-file ("[Object] owner" holds the user's
  email; deals carry Pipeline and Deal stage).
- Twenty's CSV export of a view (visible columns; composite fields as "<Field> / <Sub-field>", relations
  as "<Relation> / Id", amounts in micros, ISO 8601 times):
  https://docs.twenty.com/user-guide/data-migration/how-tos/export-your-data
- EspoCRM's CSV export of a list (attribute names as headers, 17-character hex ids, "Y-m-d H:i:s" UTC
  times, link attributes such as accountId, UTF-8 with BOM):
  https://docs.espocrm.com/user-guide/export/ (source: espocrm/documentation docs/user-guide/export.md)

Where a vendor's documentation does not spell out an exact header (HubSpot's association columns,
Twenty's composite sub-field labels), the headers follow what their exports write as of 2024; the format
declarations in ``saas/modules/core/vendor_imports/formats.py`` name the same columns.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

FIRST = ("Anna", "Bernd", "Chloé", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ines", "Jürgen", "Kai", "Li")
LAST = (
    "Müller",
    "Schmidt",
    "O'Brien",
    "Nakamura",
    "Żukowski",
    "García",
    "Ivanova",
    "Smith",
    "王",
    "Østergaard",
)
COMPANY = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
)
INDUSTRY = ("Manufacturing", "Software", "Retail", "Healthcare", "Energy")


def _csv(
    headers: list[str], rows: Iterable[list[object]], *, bom: bool = False, delimiter: str = ","
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _person(i: int) -> tuple[str, str]:
    return FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]


def _company(i: int) -> str:
    return f"{COMPANY[i % len(COMPANY)]} {i // len(COMPANY) + 1}"


# --- Salesforce ---------------------------------------------------------------------------------------

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def salesforce_id(prefix: str, n: int) -> str:
    """An 18-character case-safe Salesforce Id: key prefix, pod, a serial, and the 3-character suffix
    that encodes which of the 15 characters are upper case."""
    serial = ""
    for _ in range(7):
        n, digit = divmod(n, 62)
        serial = _B62[digit] + serial
    short = f"{prefix}5g000{serial}"[:15].ljust(15, "0")
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(short[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return short + suffix


def _sf_time(day: int, minute: int = 0) -> str:
    return (
        f"2024-{(day // 28) % 12 + 1:02d}-{day % 28 + 1:02d}T{9 + minute % 8:02d}:{minute % 60:02d}:10.000Z"
    )


SF_STAGES = (
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, False, True),
)


@dataclass(frozen=True)
class SalesforceSizes:
    accounts: int = 120
    contacts: int = 300
    leads: int = 150
    opportunities: int = 200
    cases: int = 100
    tasks: int = 150
    notes: int = 100


def salesforce_export(
    owner_emails: tuple[str, ...] = (), sizes: SalesforceSizes = SalesforceSizes()
) -> bytes:
    """A Data Export ZIP. Contact 7 repeats contact 3's email (a duplicate within the file); contact 11
    has an invalid email (refused); every 10th contact has opted out of email; Tier__c is a custom field."""
    users = [*owner_emails, "former.rep@example.org"]
    user_ids = [salesforce_id("005", i + 1) for i in range(len(users))]
    files: dict[str, bytes] = {}
    files["User.csv"] = _csv(
        ["Id", "Username", "LastName", "FirstName", "Email", "IsActive"],
        [[user_ids[i], f"{email}.sf", "Rep", f"User{i}", email, "true"] for i, email in enumerate(users)],
    )
    account_ids = [salesforce_id("001", i + 1) for i in range(sizes.accounts)]
    files["Account.csv"] = _csv(
        [
            "Id",
            "IsDeleted",
            "Name",
            "Type",
            "ParentId",
            "BillingCity",
            "BillingCountry",
            "Phone",
            "Website",
            "Industry",
            "NumberOfEmployees",
            "Description",
            "OwnerId",
            "CreatedDate",
            "LastModifiedDate",
            "Tier__c",
        ],
        [
            [
                account_ids[i],
                "false",
                _company(i),
                "Customer - Direct",
                "",
                "Berlin",
                "Germany",
                f"+49 30 {5550000 + i}",
                f"https://www.{_company(i).lower().replace(' ', '')}.example",
                INDUSTRY[i % len(INDUSTRY)],
                10 * (i + 1),
                f"Account {i}",
                user_ids[i % len(user_ids)],
                _sf_time(i),
                _sf_time(i + 3),
                ("Gold", "Silver", "")[i % 3],
            ]
            for i in range(sizes.accounts)
        ],
    )
    contact_ids = [salesforce_id("003", i + 1) for i in range(sizes.contacts)]

    def contact_email(i: int) -> str:
        if i == 7:
            return contact_email(3)
        if i == 11:
            return "not-an-email"
        first = _person(i)[0]
        return f"{first.lower()}.{i}@{_company(i % sizes.accounts).lower().replace(' ', '')}.example"

    files["Contact.csv"] = _csv(
        [
            "Id",
            "IsDeleted",
            "MasterRecordId",
            "AccountId",
            "LastName",
            "FirstName",
            "Salutation",
            "Name",
            "Phone",
            "Email",
            "Title",
            "Department",
            "Description",
            "OwnerId",
            "HasOptedOutOfEmail",
            "DoNotCall",
            "CreatedDate",
            "LastModifiedDate",
        ],
        [
            [
                contact_ids[i],
                "false",
                "",
                account_ids[i % sizes.accounts],
                _person(i)[1],
                _person(i)[0],
                "",
                " ".join(_person(i)),
                f"+49 170 {1000000 + i}",
                contact_email(i),
                "Buyer",
                "Purchasing",
                "",
                user_ids[i % len(user_ids)],
                "true" if i % 10 == 0 else "false",
                "false",
                _sf_time(i),
                _sf_time(i + 1),
            ]
            for i in range(sizes.contacts)
        ],
    )
    statuses = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")
    files["Lead.csv"] = _csv(
        [
            "Id",
            "IsDeleted",
            "LastName",
            "FirstName",
            "Name",
            "Title",
            "Company",
            "Phone",
            "Email",
            "LeadSource",
            "Status",
            "OwnerId",
            "IsConverted",
            "HasOptedOutOfEmail",
            "CreatedDate",
        ],
        [
            [
                salesforce_id("00Q", i + 1),
                "false",
                _person(i + 5)[1],
                _person(i + 5)[0],
                "",
                "CTO",
                f"Prospect {i}",
                "",
                f"lead.{i}@prospect{i}.example",
                "Web",
                statuses[i % 3],
                user_ids[i % len(user_ids)],
                "false",
                "false",
                _sf_time(i),
            ]
            for i in range(sizes.leads)
        ],
    )
    opportunity_ids = [salesforce_id("006", i + 1) for i in range(sizes.opportunities)]
    files["Opportunity.csv"] = _csv(
        [
            "Id",
            "IsDeleted",
            "AccountId",
            "Name",
            "Description",
            "StageName",
            "Amount",
            "Probability",
            "CloseDate",
            "Type",
            "IsClosed",
            "IsWon",
            "ForecastCategory",
            "OwnerId",
            "CreatedDate",
            "LastModifiedDate",
        ],
        [
            [
                opportunity_ids[i],
                "false",
                account_ids[i % sizes.accounts],
                f"{_company(i % sizes.accounts)} deal {i}",
                "",
                SF_STAGES[i % 5][0],
                f"{1000 + 250 * i}.00",
                SF_STAGES[i % 5][1],
                f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "New Business",
                str(SF_STAGES[i % 5][3]).lower(),
                str(SF_STAGES[i % 5][2]).lower(),
                "Pipeline",
                user_ids[i % len(user_ids)],
                _sf_time(i),
                _sf_time(i + 2),
            ]
            for i in range(sizes.opportunities)
        ],
    )
    files["Case.csv"] = _csv(
        [
            "Id",
            "IsDeleted",
            "CaseNumber",
            "ContactId",
            "AccountId",
            "Subject",
            "Description",
            "Status",
            "Priority",
            "Origin",
            "OwnerId",
            "IsClosed",
            "CreatedDate",
        ],
        [
            [
                salesforce_id("500", i + 1),
                "false",
                f"{1000 + i:08d}",
                contact_ids[(i * 3) % sizes.contacts],
                account_ids[(i * 3) % sizes.accounts],
                f"Printer {i} jams",
                "It jams on page 2.",
                "New",
                ("High", "Medium", "Low")[i % 3],
                "Email",
                user_ids[0],
                "false",
                _sf_time(i),
            ]
            for i in range(sizes.cases)
        ],
    )
    files["Task.csv"] = _csv(
        [
            "Id",
            "WhoId",
            "WhatId",
            "Subject",
            "ActivityDate",
            "Status",
            "Priority",
            "OwnerId",
            "Description",
            "TaskSubtype",
            "IsClosed",
            "CreatedDate",
        ],
        [
            [
                salesforce_id("00T", i + 1),
                contact_ids[(i * 7) % sizes.contacts] if i % 2 == 0 else "",
                opportunity_ids[i % sizes.opportunities] if i % 2 else "",
                f"Follow-up call {i}",
                f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "Completed",
                "Normal",
                user_ids[0],
                "Talked about renewal.",
                ("Call", "Email", "Task")[i % 3],
                "true",
                _sf_time(i),
            ]
            for i in range(sizes.tasks)
        ],
    )
    files["Note.csv"] = _csv(
        ["Id", "IsDeleted", "ParentId", "Title", "IsPrivate", "Body", "OwnerId", "CreatedDate"],
        [
            [
                salesforce_id("002", i + 1),
                "false",
                (
                    account_ids[i % sizes.accounts],
                    contact_ids[i % sizes.contacts],
                    opportunity_ids[i % sizes.opportunities],
                )[i % 3],
                f"Meeting notes {i}",
                "false",
                f"Notes line 1\nline 2 of note {i}",
                user_ids[0],
                _sf_time(i, i),
            ]
            for i in range(sizes.notes)
        ],
    )
    return zipped(files)


# --- HubSpot ------------------------------------------------------------------------------------------


def _hs_time(i: int) -> str:
    return f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} {8 + i % 10:02d}:{i % 60:02d}"


def hubspot_contacts(count: int, owner_email: str = "", companies: int = 0, start: int = 0) -> bytes:
    """HubSpot's contacts export. Every 9th has unsubscribed from all email; Lifecycle Stage is a custom
    property. Ids are HubSpot's numeric record ids."""
    return _csv(
        [
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Job Title",
            "Contact owner",
            "Lifecycle Stage",
            "Associated Company IDs",
            "Unsubscribed from all email",
            "Create Date",
            "Last Modified Date",
        ],
        [
            [
                str(51000 + i),
                _person(i)[0],
                _person(i)[1],
                f"contact{i}@customer{i % 97}.example",
                f"+1 617 555 {i % 10000:04d}",
                "Engineer",
                owner_email if i % 2 == 0 else "",
                ("lead", "customer", "subscriber")[i % 3],
                str(8100 + i % companies) if companies else "",
                "true" if i % 9 == 0 else "false",
                _hs_time(i),
                _hs_time(i + 1),
            ]
            for i in range(start, start + count)
        ],
        bom=True,
    )


def hubspot_export(
    owner_email: str,
    *,
    contacts: int = 300,
    companies: int = 80,
    deals: int = 150,
    tickets: int = 60,
    notes: int = 80,
) -> dict[str, bytes]:
    files = {
        "hubspot-crm-exports-all-companies-2024-06-01.csv": _csv(
            [
                "Record ID",
                "Company name",
                "Company Domain Name",
                "Industry",
                "Phone Number",
                "City",
                "Company owner",
                "Create Date",
            ],
            [
                [
                    str(8100 + i),
                    _company(i),
                    f"{_company(i).lower().replace(' ', '')}.example",
                    INDUSTRY[i % 5],
                    "",
                    "Boston",
                    owner_email,
                    _hs_time(i),
                ]
                for i in range(companies)
            ],
            bom=True,
        ),
        "hubspot-crm-exports-all-contacts-2024-06-01.csv": hubspot_contacts(contacts, owner_email, companies),
        "hubspot-crm-exports-all-deals-2024-06-01.csv": _csv(
            [
                "Record ID",
                "Deal Name",
                "Amount",
                "Close Date",
                "Pipeline",
                "Deal Stage",
                "Deal owner",
                "Associated Company IDs",
                "Associated Contact IDs",
                "Create Date",
            ],
            [
                [
                    str(9200 + i),
                    f"Deal {i}",
                    f"{500 + i * 10}",
                    _hs_time(i),
                    "Sales Pipeline",
                    ("Appointment Scheduled", "Qualified To Buy", "Closed Won", "Closed Lost")[i % 4],
                    owner_email,
                    str(8100 + i % companies),
                    f"{51000 + i % contacts};{51000 + (i + 1) % contacts}",
                    _hs_time(i),
                ]
                for i in range(deals)
            ],
            bom=True,
        ),
        "hubspot-crm-exports-all-tickets-2024-06-01.csv": _csv(
            [
                "Record ID",
                "Ticket name",
                "Ticket description",
                "Pipeline",
                "Ticket status",
                "Priority",
                "Ticket owner",
                "Associated Contact IDs",
                "Create Date",
            ],
            [
                [
                    str(7300 + i),
                    f"Login fails {i}",
                    "Cannot sign in.",
                    "Support Pipeline",
                    "New",
                    ("LOW", "MEDIUM", "HIGH")[i % 3],
                    owner_email,
                    str(51000 + i % contacts),
                    _hs_time(i),
                ]
                for i in range(tickets)
            ],
            bom=True,
        ),
        "hubspot-crm-exports-all-notes-2024-06-01.csv": _csv(
            [
                "Record ID",
                "Note body",
                "Activity date",
                "Associated Contact IDs",
                "Associated Company IDs",
                "Associated Deal IDs",
            ],
            [
                [
                    str(6400 + i),
                    f"Called about the renewal ({i}).",
                    _hs_time(i),
                    str(51000 + i % contacts) if i % 3 == 0 else "",
                    str(8100 + i % companies) if i % 3 == 1 else "",
                    str(9200 + i % deals) if i % 3 == 2 else "",
                ]
                for i in range(notes)
            ],
            bom=True,
        ),
    }
    return files


# --- Twenty -------------------------------------------------------------------------------------------


def _twenty_id(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


def twenty_export(*, companies: int = 60, people: int = 200, opportunities: int = 100) -> dict[str, bytes]:
    stages = ("NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER")
    return {
        "companies.csv": _csv(
            [
                "Id",
                "Name",
                "Domain Name / Primary Link Url",
                "Employees",
                "Address / Address City",
                "Created at",
            ],
            [
                [
                    _twenty_id(1, i),
                    _company(i),
                    f"https://{_company(i).lower().replace(' ', '')}.example",
                    50,
                    "Paris",
                    f"2024-05-{i % 28 + 1:02d}T10:00:00.000Z",
                ]
                for i in range(companies)
            ],
        ),
        "people.csv": _csv(
            [
                "Id",
                "Name / First Name",
                "Name / Last Name",
                "Emails / Primary Email",
                "Phones / Primary Phone Number",
                "Job Title",
                "City",
                "Company / Id",
                "Company / Name",
                "Created at",
            ],
            [
                [
                    _twenty_id(2, i),
                    _person(i)[0],
                    _person(i)[1],
                    f"person{i}@twenty-customer.example",
                    "",
                    "Designer",
                    "Lyon",
                    _twenty_id(1, i % companies),
                    _company(i % companies),
                    f"2024-05-{i % 28 + 1:02d}T10:00:00.000Z",
                ]
                for i in range(people)
            ],
        ),
        "opportunities.csv": _csv(
            [
                "Id",
                "Name",
                "Amount / Amount Micros",
                "Amount / Currency Code",
                "Close Date",
                "Stage",
                "Company / Id",
                "Point of Contact / Id",
                "Created at",
            ],
            [
                [
                    _twenty_id(3, i),
                    f"Opportunity {i}",
                    str((1000 + i) * 1_000_000),
                    "EUR",
                    f"2025-0{i % 9 + 1}-15T00:00:00.000Z",
                    stages[i % 5],
                    _twenty_id(1, i % companies),
                    _twenty_id(2, i % people),
                    "2024-05-01T10:00:00.000Z",
                ]
                for i in range(opportunities)
            ],
        ),
    }


# --- EspoCRM ------------------------------------------------------------------------------------------


def _espo_id(kind: int, i: int) -> str:
    return f"{kind:x}{i:016x}"[-17:]


def espocrm_export(
    *, accounts: int = 60, contacts: int = 200, leads: int = 80, opportunities: int = 100, cases: int = 50
) -> dict[str, bytes]:
    return {
        "Account.csv": _csv(
            [
                "id",
                "name",
                "website",
                "emailAddress",
                "phoneNumber",
                "type",
                "industry",
                "description",
                "createdAt",
                "assignedUserId",
                "assignedUserName",
            ],
            [
                [
                    _espo_id(1, i),
                    _company(i),
                    f"{_company(i).lower().replace(' ', '')}.example",
                    "",
                    "",
                    "Customer",
                    INDUSTRY[i % 5],
                    "",
                    "2024-04-02 08:15:00",
                    "",
                    "",
                ]
                for i in range(accounts)
            ],
            bom=True,
        ),
        "Contact.csv": _csv(
            [
                "id",
                "salutationName",
                "firstName",
                "lastName",
                "name",
                "accountId",
                "accountName",
                "title",
                "emailAddress",
                "emailAddressIsOptedOut",
                "phoneNumber",
                "description",
                "createdAt",
            ],
            [
                [
                    _espo_id(2, i),
                    "",
                    _person(i)[0],
                    _person(i)[1],
                    " ".join(_person(i)),
                    _espo_id(1, i % accounts),
                    _company(i % accounts),
                    "Manager",
                    f"espo{i}@espo-customer.example",
                    "1" if i % 8 == 0 else "0",
                    "",
                    "",
                    "2024-04-02 08:15:00",
                ]
                for i in range(contacts)
            ],
            bom=True,
        ),
        "Lead.csv": _csv(
            [
                "id",
                "firstName",
                "lastName",
                "name",
                "accountName",
                "title",
                "emailAddress",
                "phoneNumber",
                "status",
                "source",
                "description",
                "createdAt",
            ],
            [
                [
                    _espo_id(3, i),
                    _person(i)[0],
                    _person(i)[1],
                    "",
                    f"Lead Co {i}",
                    "",
                    f"espolead{i}@leads.example",
                    "",
                    ("New", "Assigned", "In Process", "Dead")[i % 4],
                    "Web Site",
                    "",
                    "2024-04-02 08:15:00",
                ]
                for i in range(leads)
            ],
            bom=True,
        ),
        "Opportunity.csv": _csv(
            [
                "id",
                "name",
                "amount",
                "amountCurrency",
                "stage",
                "probability",
                "closeDate",
                "accountId",
                "accountName",
                "contactId",
                "description",
                "createdAt",
            ],
            [
                [
                    _espo_id(4, i),
                    f"Espo deal {i}",
                    f"{2000 + i}",
                    "USD",
                    ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")[
                        i % 6
                    ],
                    (10, 20, 50, 80, 100, 0)[i % 6],
                    f"2025-03-{i % 28 + 1:02d}",
                    _espo_id(1, i % accounts),
                    _company(i % accounts),
                    _espo_id(2, i % contacts),
                    "",
                    "2024-04-02 08:15:00",
                ]
                for i in range(opportunities)
            ],
            bom=True,
        ),
        "Case.csv": _csv(
            [
                "id",
                "name",
                "number",
                "status",
                "priority",
                "type",
                "accountId",
                "contactId",
                "description",
                "createdAt",
            ],
            [
                [
                    _espo_id(5, i),
                    f"Broken widget {i}",
                    100 + i,
                    "New",
                    ("Low", "Normal", "High", "Urgent")[i % 4],
                    "Problem",
                    _espo_id(1, i % accounts),
                    _espo_id(2, i % contacts),
                    "",
                    "2024-04-02 08:15:00",
                ]
                for i in range(cases)
            ],
            bom=True,
        ),
    }


if __name__ == "__main__":  # write the samples: python -m tests.modules.core.vendor_files <directory>
    import pathlib
    import sys

    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "vendor-samples")
    target.mkdir(parents=True, exist_ok=True)
    (target / "salesforce-data-export.zip").write_bytes(salesforce_export(("owner@example.com",)))
    (target / "hubspot-export.zip").write_bytes(zipped(hubspot_export("owner@example.com")))
    (target / "twenty-export.zip").write_bytes(zipped(twenty_export()))
    (target / "espocrm-export.zip").write_bytes(zipped(espocrm_export()))
